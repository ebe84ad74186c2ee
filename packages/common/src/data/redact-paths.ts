/**
 * Absolute file paths (POSIX, Windows drive letters, file:// URLs) in a message for someone who
 * must not learn the host's layout, reduced to their last component: a backend note such as
 * "Cannot find package … imported from /srv/finsecure/packages/common/dist/…" on the aggregator's
 * public health endpoint, or a key file's path in an answer to a bank's analyst, would otherwise
 * tell where and as whom the service is installed. Relative paths and fractions ("a/b") are left
 * alone: a path counts only where a token starts.
 * @param show how a path's last component is written (default "…/name")
 */
export function redactPaths(text: string, show: (name: string) => string = (name) => `…/${name}`): string {
  return text.replace(/(?<![\w@.~-])(?:file:\/\/)?(?:[A-Za-z]:\\|\/)[^\s'"`,;)]+/g, (p) => {
    const parts = p.split(/[\\/]/).filter(Boolean);
    return show(parts.length ? parts[parts.length - 1]! : '');
  });
}
