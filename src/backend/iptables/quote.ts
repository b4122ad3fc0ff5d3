/**
 * The one place rule tokens become `iptables-restore` text. iptables-restore (1.8.x,
 * `add_param_to_argv`) splits a line on spaces and tabs; inside double quotes a backslash
 * escapes the next character. A line ends at a newline, so no token may contain one.
 */

/** Tokens made only of these characters are written bare (kube-proxy writes them so). */
const BARE_CHARACTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/,!@%+=[]-';

/** Newlines would end the rule early; the model refuses them, this makes them impossible. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

/** BARE_CHARACTERS by code unit: every token of a ruleset goes through this check. */
const BARE_CHARACTER = new Uint8Array(128);
for (const c of BARE_CHARACTERS) BARE_CHARACTER[c.charCodeAt(0)] = 1;

/** Not empty, and made of BARE_CHARACTERS only. */
function isBare(token: string): boolean {
  const length = token.length;
  if (length === 0) return false;
  for (let i = 0; i < length; i++) {
    const c = token.charCodeAt(i);
    if (c >= 128 || BARE_CHARACTER[c] === 0) return false;
  }
  return true;
}

const QUOTE = 34;
const BACKSLASH = 92;

function isControl(c: number): boolean {
  return c <= 0x1f || c === 0x7f;
}

export function quoteToken(token: string): string {
  if (isBare(token)) return token;
  let plain = true;
  for (let i = 0; i < token.length && plain; i++) {
    const c = token.charCodeAt(i);
    plain = !isControl(c) && c !== QUOTE && c !== BACKSLASH;
  }
  // The common case, a comment with spaces: quoted as it is.
  if (plain) return `"${token}"`;
  const clean = token.replace(CONTROL_CHARACTERS, '');
  if (isBare(clean)) return clean;
  return `"${clean.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Renders rules of one chain, `-A CHAIN tok tok …`, quoting the chain's name once. */
export function ruleRenderer(chain: string): (args: readonly string[]) => string {
  const prefix = `-A ${quoteToken(chain)}`;
  return (args) => {
    const tokens = new Array<string>(args.length + 1);
    tokens[0] = prefix;
    for (let i = 0; i < args.length; i++) tokens[i + 1] = quoteToken(args[i] as string);
    return tokens.join(' ');
  };
}

/** `-D CHAIN tok …` (delete by spec) or `-I CHAIN N tok …` (insert at 1-based N): rule edits under --noflush. */
export function renderRuleEdit(op: '-D' | '-I', chain: string, args: readonly string[], position?: number): string {
  const head = op === '-I' ? `-I ${quoteToken(chain)} ${position ?? 1}` : `-D ${quoteToken(chain)}`;
  return `${head} ${args.map(quoteToken).join(' ')}`;
}

/** `-A CHAIN tok tok …` */
export function renderRule(chain: string, args: readonly string[]): string {
  return ruleRenderer(chain)(args);
}

/** The declaration of one of our chains; under `--noflush` it also flushes the chain. */
export function renderChainDeclaration(chain: string): string {
  return `:${quoteToken(chain)} - [0:0]`;
}

/** The declaration of a built-in chain, with policy ACCEPT (for an empty namespace only). */
export function renderBuiltinDeclaration(chain: string): string {
  return `:${quoteToken(chain)} ACCEPT [0:0]`;
}
