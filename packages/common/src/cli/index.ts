/** Helpers shared by the command-line programs of every package (`@finsecure/common/cli`). */
export { addVersionOption, packageVersion, versionLine } from './version.js';
