/**
 * Reads `iptables-restore` input into tables → chains → rules, keeping each rule's tokens
 * and its original line (the tracer reports matched rules by their text). Only the
 * syntax is checked here; what the tokens mean is decoded in `iptables-rule.ts`.
 */

export interface RestoreRule {
  /** The tokens after `-A CHAIN`, unquoted. */
  tokens: string[];
  /** The line as written, trimmed. */
  text: string;
  /** 1-based line number in the input. */
  line: number;
}

export interface RestoreChain {
  name: string;
  /** ACCEPT or DROP for a built-in chain; null for a user-defined one. */
  policy: 'ACCEPT' | 'DROP' | null;
  rules: RestoreRule[];
}

export interface RestoreTable {
  name: string;
  /** Declared chains and built-in chains that rules were appended to, in first-seen order. */
  chains: Map<string, RestoreChain>;
}

export interface RestoreRuleset {
  tables: Map<string, RestoreTable>;
}

/** The chains each table has without a declaration (iptables 1.8, IPv4 and IPv6 alike). */
export const BUILTIN_CHAINS: ReadonlyMap<string, readonly string[]> = new Map([
  ['filter', ['INPUT', 'FORWARD', 'OUTPUT']],
  ['nat', ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']],
  ['mangle', ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']],
  ['raw', ['PREROUTING', 'OUTPUT']],
  ['security', ['INPUT', 'FORWARD', 'OUTPUT']],
]);

export function isBuiltinChain(table: string, chain: string): boolean {
  return BUILTIN_CHAINS.get(table)?.includes(chain) ?? false;
}

/**
 * Splits a line the way iptables-restore 1.8.9 (`add_param_to_argv`) does: on spaces and
 * tabs; `"` opens a quoted stretch, even inside a token, and the closing `"` ends the token
 * (so `"ab"cd` is two tokens and `""` is an empty one); inside quotes a backslash takes the
 * next character literally, outside it is an ordinary character. iptables keeps an
 * unterminated quote open to the end of the line, silently swallowing the target; here it
 * is an error.
 */
export function tokenizeRestoreLine(line: string): string[] | { error: string } {
  if (!line.includes('"')) return line.split(/[ \t]+/).filter((token) => token !== '');
  const tokens: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line.charAt(i);
    if (quoted) {
      if (char === '"') {
        tokens.push(current);
        current = '';
        quoted = false;
      } else if (char === '\\' && i + 1 < line.length) {
        current += line.charAt(++i);
      } else {
        current += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ' ' || char === '\t') {
      if (current !== '') tokens.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  if (quoted) return { error: 'unterminated quote' };
  if (current !== '') tokens.push(current);
  return tokens;
}

const CHAIN_DECLARATION = /^:(\S+)\s+(\S+)(?:\s+\[\d+:\d+\])?$/;
const CHAIN_NAME = /^[A-Za-z0-9_.-]{1,28}$/;

interface ParserState {
  ruleset: RestoreRuleset;
  table: RestoreTable | null;
}

function lineError(lineNumber: number, text: string, message: string): { error: string } {
  return { error: `line ${lineNumber}: ${message}: ${text}` };
}

function ensureBuiltin(table: RestoreTable, name: string): RestoreChain | null {
  const existing = table.chains.get(name);
  if (existing) return existing;
  if (!isBuiltinChain(table.name, name)) return null;
  const chain: RestoreChain = { name, policy: 'ACCEPT', rules: [] };
  table.chains.set(name, chain);
  return chain;
}

function parseTableLine(state: ParserState, text: string, lineNumber: number): { error: string } | null {
  if (state.table) return lineError(lineNumber, text, `table *${state.table.name} has no COMMIT`);
  const name = text.slice(1);
  if (!BUILTIN_CHAINS.has(name)) return lineError(lineNumber, text, 'unknown table');
  if (state.ruleset.tables.has(name)) return lineError(lineNumber, text, 'table appears twice');
  state.table = { name, chains: new Map() };
  state.ruleset.tables.set(name, state.table);
  return null;
}

function parseDeclaration(table: RestoreTable, text: string, lineNumber: number): { error: string } | null {
  const m = CHAIN_DECLARATION.exec(text);
  if (!m) return lineError(lineNumber, text, 'malformed chain declaration');
  const name = m[1] ?? '';
  const policy = m[2] ?? '';
  if (!CHAIN_NAME.test(name)) return lineError(lineNumber, text, 'invalid chain name');
  if (table.chains.has(name)) return lineError(lineNumber, text, 'chain declared twice');
  if (isBuiltinChain(table.name, name)) {
    if (policy !== 'ACCEPT' && policy !== 'DROP') {
      return lineError(lineNumber, text, 'a built-in chain needs policy ACCEPT or DROP');
    }
    table.chains.set(name, { name, policy, rules: [] });
  } else {
    if (policy !== '-') return lineError(lineNumber, text, 'a user-defined chain cannot have a policy');
    table.chains.set(name, { name, policy: null, rules: [] });
  }
  return null;
}

function parseCommand(table: RestoreTable, text: string, lineNumber: number): { error: string } | null {
  const tokens = tokenizeRestoreLine(text);
  if ('error' in tokens) return lineError(lineNumber, text, tokens.error);
  const [command, chainName, ...rest] = tokens;
  if (chainName === undefined) return lineError(lineNumber, text, 'missing chain name');
  if (command === '-A' || command === '--append') {
    const chain = ensureBuiltin(table, chainName);
    if (!chain) return lineError(lineNumber, text, `chain ${chainName} is not declared in table ${table.name}`);
    chain.rules.push({ tokens: rest, text, line: lineNumber });
    return null;
  }
  if (command === '-X' || command === '--delete-chain') {
    if (rest.length > 0) return lineError(lineNumber, text, 'unexpected arguments');
    if (isBuiltinChain(table.name, chainName)) return lineError(lineNumber, text, 'cannot delete a built-in chain');
    // Under --noflush the chain may exist only in the kernel; here it simply is not there.
    table.chains.delete(chainName);
    return null;
  }
  return lineError(lineNumber, text, 'unsupported command');
}

/**
 * Parses restore input. Blank lines and `#` comments are skipped. Every table section
 * must end in COMMIT; rules may be appended only to declared or built-in chains. Any
 * other line is an error value naming its line number.
 */
export function parseIptablesRestore(text: string): RestoreRuleset | { error: string } {
  const state: ParserState = { ruleset: { tables: new Map() }, table: null };
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    let failure: { error: string } | null;
    if (line.startsWith('*')) {
      failure = parseTableLine(state, line, lineNumber);
    } else if (!state.table) {
      failure = lineError(lineNumber, line, 'outside of a table section');
    } else if (line === 'COMMIT') {
      state.table = null;
      failure = null;
    } else if (line.startsWith(':')) {
      failure = parseDeclaration(state.table, line, lineNumber);
    } else {
      failure = parseCommand(state.table, line, lineNumber);
    }
    if (failure) return failure;
  }
  if (state.table) return { error: `table *${state.table.name} has no COMMIT` };
  return state.ruleset;
}
