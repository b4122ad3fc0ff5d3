/**
 * Kubernetes' name and label syntax (apimachinery `validation`). Everything that passes
 * these is made of `[A-Za-z0-9._/-]` only, so it can go into a rule comment or a chain
 * name without quoting. Each check returns null when valid, else the reason's tail.
 */
import { type Findings, isAbsent, quote, show } from './fields.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export type NameCheck = (text: string) => string | null;

export const checkDNS1123Label: NameCheck = (text) =>
  text.length <= 63 && DNS1123_LABEL.test(text)
    ? null
    : 'is not a DNS-1123 label (at most 63 of a-z, 0-9 and "-", alphanumeric at both ends)';

export const checkDNS1035Label: NameCheck = (text) =>
  text.length <= 63 && DNS1035_LABEL.test(text)
    ? null
    : 'is not a DNS-1035 label (at most 63 of a-z, 0-9 and "-", starting with a letter, alphanumeric at the end)';

export const checkDNS1123Subdomain: NameCheck = (text) =>
  text.length <= 253 && DNS1123_SUBDOMAIN.test(text)
    ? null
    : 'is not a DNS-1123 subdomain (at most 253 of a-z, 0-9, "-" and ".", alphanumeric at both ends)';

/** A label value: empty, or at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends. */
export const checkLabelValue: NameCheck = (text) =>
  text === '' || (text.length <= 63 && LABEL_NAME.test(text))
    ? null
    : 'is not a valid label value (at most 63 of A-Z, a-z, 0-9, "-", "_" and ".", alphanumeric at both ends)';

/** A zone name (topology.kubernetes.io/zone's value): a label value that is not empty. */
export const checkZoneName: NameCheck = (text) => (text === '' ? 'is empty' : checkLabelValue(text));

/** A label key: an optional DNS-1123 subdomain prefix and "/", then a label name. */
export const checkLabelKey: NameCheck = (text) => {
  const slash = text.indexOf('/');
  const prefix = slash < 0 ? null : text.slice(0, slash);
  const name = slash < 0 ? text : text.slice(slash + 1);
  const prefixOk = prefix === null || checkDNS1123Subdomain(prefix) === null;
  return prefixOk && name.length <= 63 && LABEL_NAME.test(name)
    ? null
    : 'is not a valid label key ([DNS-1123 subdomain "/"] and at most 63 of A-Z, a-z, 0-9, "-", "_" and ".")';
};

/** A string field that must pass `check`; otherwise a problem naming `path`, and null. */
export function readName(f: Findings, path: string, value: unknown, check: NameCheck): string | null {
  if (typeof value !== 'string') {
    f.add(path, isAbsent(value) ? 'missing' : `${show(value)} is not a string`);
    return null;
  }
  const problem = check(value);
  if (problem) {
    f.add(path, `${quote(value)} ${problem}`);
    return null;
  }
  return value;
}
