/** The two renderings of an NftRuleset: `nft -f` text (also the dry-run format) and libnftables JSON. */
export { renderNftText, ruleText } from './render-text.js';
export { renderNftJson } from './render-json.js';
