import { describe, expect, it } from 'vitest';
import { exec, ExecError, mustExec } from '../../src/dataplane/exec.js';
import { chooseIptablesFlavour } from '../../src/dataplane/iptables-flavour.js';
import { fullLoadEnv } from '../../src/dataplane/tool-env.js';

describe('exec', () => {
  it('passes stdin and argv without a shell', async () => {
    const result = await exec(['cat'], { stdin: 'a "quoted" $(not run)\n' });
    expect(result).toEqual({ code: 0, stdout: 'a "quoted" $(not run)\n', stderr: '' });
    const echo = await exec(['echo', '$HOME;', 'x']);
    expect(echo.stdout).toBe('$HOME; x\n');
  });

  it('writes stdin piece by piece, each produced once the tool has taken the previous one', async () => {
    const piece = 'x'.repeat(1 << 20) + '\n';
    let produced = 0;
    function* pieces(): Generator<string> {
      for (let i = 0; i < 8; i++) {
        produced++;
        yield piece;
      }
    }
    const result = await exec(['wc', '-c'], { stdin: pieces() });
    expect(result.stdout.trim()).toBe(String(8 * piece.length));
    expect(produced).toBe(8);
  });

  it('says when all of stdin is in the pipe, while the tool still runs', async () => {
    const piece = 'x'.repeat(1 << 20);
    let produced = 0;
    function* pieces(): Generator<string> {
      for (let i = 0; i < 4; i++) {
        produced++;
        yield piece;
      }
    }
    const events: string[] = [];
    let exited = false;
    // The tool reads everything, then takes a while before it exits.
    const running = exec(['sh', '-c', 'wc -c; sleep 0.3; echo done'], {
      stdin: pieces(),
      onInputWritten: () => events.push(`written after ${produced} pieces, tool ${exited ? 'gone' : 'running'}`),
    });
    const result = await running.finally(() => (exited = true));
    expect(result.stdout).toBe(`${4 * piece.length}\ndone\n`);
    expect(events).toEqual(['written after 4 pieces, tool running']);
    const whole: string[] = [];
    await exec(['cat'], { stdin: 'one string', onInputWritten: () => whole.push('written') });
    expect(whole).toEqual(['written']);
  });

  it('kills the tool, unread to the end, when its input fails half-way', async () => {
    function* failing(): Generator<string> {
      yield 'first line\n';
      throw new Error('render bug');
    }
    // `wc` would print a count if it saw the input end.
    const result = await exec(['wc', '-c'], { stdin: failing() });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('its input failed: render bug');
  });

  it('reports a missing binary and a failing one', async () => {
    expect((await exec(['/nonexistent/kpx-tool'])).code).toBe(127);
    await expect(mustExec(exec, ['sh', '-c', 'echo broken >&2; exit 3'])).rejects.toThrow(ExecError);
    await expect(mustExec(exec, ['sh', '-c', 'echo broken >&2; exit 3'])).rejects.toThrow(/exited 3: broken/);
  });

  it('gives the tool the environment it is handed', async () => {
    const result = await exec(['printenv', 'GLIBC_TUNABLES'], { env: fullLoadEnv({ PATH: process.env.PATH }) });
    expect(result.stdout).toBe('glibc.malloc.hugetlb=1\n');
  });
});

describe('chooseIptablesFlavour', () => {
  const rules = (n: number) => ['*filter', ...Array.from({ length: n }, (_, i) => `-A INPUT -s 10.0.0.${i} -j ACCEPT`), 'COMMIT'].join('\n');
  it.each([
    ['kubelet hint in nft', rules(50), '*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT', 'nft'],
    ['kubelet canary in legacy', '*mangle\n:KUBE-KUBELET-CANARY - [0:0]\nCOMMIT', rules(50), 'legacy'],
    ['more legacy rules', rules(10), rules(2), 'legacy'],
    ['more nft rules', rules(1), rules(2), 'nft'],
    ['tie', rules(0), rules(0), 'nft'],
    ['only legacy installed', rules(0), null, 'legacy'],
    ['only nft installed', null, rules(0), 'nft'],
  ] as const)('%s', (_name, legacy, nft, expected) => {
    expect(chooseIptablesFlavour(legacy, nft)).toBe(expected);
  });
});

describe('fullLoadEnv', () => {
  it('asks glibc for huge-page malloc and keeps the rest of the environment', () => {
    expect(fullLoadEnv({ PATH: '/usr/sbin', HOME: '/root' })).toEqual({ PATH: '/usr/sbin', HOME: '/root', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
  });

  it('appends to tunables already set', () => {
    expect(fullLoadEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
  });

  it("leaves an operator's own hugetlb setting alone", () => {
    const env = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0:glibc.malloc.arena_max=2' };
    expect(fullLoadEnv(env)).toBe(env);
    expect(fullLoadEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2' }).GLIBC_TUNABLES).toBe('glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2');
  });
});
