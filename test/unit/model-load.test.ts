/** parseObjectsText: JSON, YAML, Lists, and unreadable text reported as File problems. */
import { describe, expect, it } from 'vitest';
import { parseObjectsText } from '../../src/model/load.js';

const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'shop', name } });

describe('parseObjectsText', () => {
  it('reads a single JSON object', () => {
    expect(parseObjectsText(JSON.stringify(svc('a')), 'a.json')).toEqual({ objects: [svc('a')], problems: [] });
  });

  it('flattens a v1 List (as kubectl get -o json prints) and a JSON array', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [svc('a'), { apiVersion: 'v1', kind: 'ServiceList', items: [svc('b')] }] };
    expect(parseObjectsText(JSON.stringify(list), 'l.json').objects).toEqual([svc('a'), svc('b')]);
    expect(parseObjectsText(JSON.stringify([svc('a'), svc('b')]), 'a.json').objects).toEqual([svc('a'), svc('b')]);
  });

  it('reads multi-document YAML, skipping empty documents and flattening Lists', () => {
    const text = [
      'apiVersion: v1\nkind: Service\nmetadata: {namespace: shop, name: a}',
      '',
      '# only a comment',
      'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Service, metadata: {namespace: shop, name: b}}',
    ].join('\n---\n');
    expect(parseObjectsText(text, 'c.yaml')).toEqual({ objects: [svc('a'), svc('b')], problems: [] });
  });

  it('keeps YAML 1.2 core types: no timestamps, "None" and "yes" stay strings', () => {
    const { objects } = parseObjectsText('a: 2024-01-01\nb: None\nc: yes\nd: 010.096.000.001', 'x.yaml');
    expect(objects).toEqual([{ a: '2024-01-01', b: 'None', c: 'yes', d: '010.096.000.001' }]);
  });

  it('reports a broken document and still returns the others', () => {
    const { objects, problems } = parseObjectsText('kind: a\n---\nkey: [1\nother: 2\n---\nkind: b\n', 'c.yaml');
    expect(objects).toEqual([{ kind: 'a' }, { kind: 'b' }]);
    expect(problems).toEqual([{ kind: 'File', namespace: '', name: 'c.yaml', reason: expect.stringMatching(/^document 2: .* at line \d+, column \d+$/) }]);
  });

  it('reports duplicate keys', () => {
    const { objects, problems } = parseObjectsText('kind: Service\nkind: Node\n', 'd.yaml');
    expect(objects).toEqual([]);
    expect(problems[0]?.reason).toMatch(/unique/);
  });

  it('reports broken JSON', () => {
    const { objects, problems } = parseObjectsText('{"kind": "Service",', 'e.json');
    expect(objects).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: 'File', name: 'e.json' });
  });

  it('reports documents and list items that are not objects', () => {
    const { objects, problems } = parseObjectsText('just text\n---\n- 1\n---\n{kind: List, items: [x]}', 'f.yaml');
    expect(objects).toEqual([]);
    expect(problems.map((p) => p.reason)).toEqual([
      'document 1: "just text" is not an object',
      'document 2[0]: 1 is not an object',
      'document 3.items[0]: "x" is not an object',
    ]);
  });

  it('refuses an alias bomb instead of expanding it', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => {
      const prev = 'abcdefg'[i];
      return `${k}: &${k} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`;
    })].join('\n');
    const { objects, problems } = parseObjectsText(`${bomb}\n---\nkind: after`, 'bomb.yaml');
    expect(objects).toEqual([{ kind: 'after' }]);
    expect(problems.map((p) => p.reason)).toEqual([expect.stringMatching(/^document 1: .*alias/)]);
  });

  it('returns nothing for empty text', () => {
    expect(parseObjectsText('', 'empty.yaml')).toEqual({ objects: [], problems: [] });
    expect(parseObjectsText('   \n', 'empty.json')).toEqual({ objects: [], problems: [] });
  });

  it('problem reasons are one line', () => {
    const { problems } = parseObjectsText('a:\n\t- b\n', 'tabs.yaml');
    expect(problems).toHaveLength(1);
    expect(problems[0]?.reason).not.toContain('\n');
  });
});
