/**
 * The one place rule tokens become `iptables-restore` text. iptables-restore (1.8.x,
 * `add_param_to_argv`) splits a line on spaces and tabs; inside double quotes a backslash
 * escapes the next character. A line ends at a newline, so no token may contain one.
 */

/** Tokens made only of these characters are written bare (kube-proxy writes them so). */
const BARE_TOKEN = /^[A-Za-z0-9_.:/,!@%+=[\]-]+$/;

/** Newlines would end the rule early; the model refuses them, this makes them impossible. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

export function quoteToken(token: string): string {
  if (BARE_TOKEN.test(token)) return token;
  const clean = token.replace(CONTROL_CHARACTERS, '');
  if (BARE_TOKEN.test(clean)) return clean;
  return `"${clean.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** `-A CHAIN tok tok …` */
export function renderRule(chain: string, args: readonly string[]): string {
  return ['-A', chain, ...args].map(quoteToken).join(' ');
}

/** The declaration of one of our chains; under `--noflush` it also flushes the chain. */
export function renderChainDeclaration(chain: string): string {
  return `:${quoteToken(chain)} - [0:0]`;
}

/** The declaration of a built-in chain, with policy ACCEPT (for an empty namespace only). */
export function renderBuiltinDeclaration(chain: string): string {
  return `:${quoteToken(chain)} ACCEPT [0:0]`;
}
