/**
 * Which tags of a repository an entry copies. The rules, applied to each tag:
 *
 * 1. No rule (no `tags` key): every tag.
 * 2. `deny`: a tag that matches any of these regular expressions is dropped. Deny wins over everything.
 * 3. `allow`: a tag must match at least one of these regular expressions. An empty list (`allow: []`) is
 *    the same as no `allow` (as in regsync).
 * 4. `semver`: a tag that reads as a version must satisfy the range (node-semver's `satisfies`). A tag that
 *    does not read as a version (`latest`, `edge`) is kept only when an `allow` list is given (the tag
 *    matched it, so it was asked for by name); with `semver` and no `allow`, only versions are kept.
 *
 * Regular expressions are JavaScript's, unanchored as in regsync and skopeo: `3\.2` matches `13.21-rc`;
 * write `^3\.2[0-9]$` to mean exactly that. A version is `v?MAJOR[.MINOR[.PATCH]][-PRERELEASE]`, missing
 * parts being 0 (`3.20` is 3.20.0, `v2` is 2.0.0); nothing else is coerced. A tag with a hyphenated suffix
 * (`3.20-rc1`, `3.20-alpine`) is a prerelease in semver terms, and node-semver excludes prereleases unless
 * a comparator of the range names a prerelease of the same MAJOR.MINOR.PATCH (`>=3.20.0-0`).
 *
 * The example of the documentation, `allow: ["^3\\.2[0-9]$", "latest"], deny: ["-rc"], semver: ">=3.19"`,
 * keeps `3.20`, `3.21` and `latest`, and drops `3.18`, `3.20-rc1` and `edge`.
 *
 * Selected tags are sorted: versions ascending, then the other tags in code-point order.
 *
 * @since 0.5.0
 */
import semver from "semver"

/**
 * What the functions of this module accept: a `SyncConfig.TagRule`, or any object of that shape (optional
 * properties may be `undefined`).
 *
 * @since 0.5.0
 * @category models
 */
export interface Rule {
  readonly allow?: ReadonlyArray<string> | undefined
  readonly deny?: ReadonlyArray<string> | undefined
  readonly semver?: string | undefined
}

/**
 * Why a tag is not selected: it matches a `deny` expression, matches no `allow` expression, is not a
 * version while `semver` is set (and no `allow` named it), or is a version outside the range.
 *
 * @since 0.5.0
 * @category models
 */
export type Rejection = "Denied" | "NotAllowed" | "NotAVersion" | "OutOfRange"

interface Compiled {
  readonly allow: ReadonlyArray<RegExp>
  readonly deny: ReadonlyArray<RegExp>
  readonly range: semver.Range | undefined
}

const cache = new WeakMap<Rule, Compiled>()

const compile = (rule: Rule): Compiled => {
  let compiled = cache.get(rule)
  if (compiled === undefined) {
    compiled = {
      allow: (rule.allow ?? []).map((source) => new RegExp(source)),
      deny: (rule.deny ?? []).map((source) => new RegExp(source)),
      range: rule.semver === undefined ? undefined : new semver.Range(rule.semver)
    }
    cache.set(rule, compiled)
  }
  return compiled
}

const versionPattern = /^v?(\d+)(?:\.(\d+)(?:\.(\d+))?)?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/

/**
 * The version a tag reads as (`v?MAJOR[.MINOR[.PATCH]][-PRERELEASE]`, missing parts 0), or `undefined`.
 *
 * @since 0.5.0
 * @category parsing
 */
export const version = (tag: string): semver.SemVer | undefined => {
  const match = versionPattern.exec(tag)
  if (match === null) return undefined
  const [, major, minor, patch, prerelease] = match
  const text = `${BigInt(major!)}.${BigInt(minor ?? 0)}.${BigInt(patch ?? 0)}${
    prerelease === undefined ? "" : `-${prerelease}`
  }`
  try {
    return semver.parse(text) ?? undefined
  } catch {
    return undefined
  }
}

/**
 * Why the rule does not select the tag, or `undefined` when it does.
 *
 * @since 0.5.0
 * @category filtering
 */
export const rejection = (rule: Rule | undefined, tag: string): Rejection | undefined => {
  if (rule === undefined) return undefined
  const { allow, deny, range } = compile(rule)
  if (deny.some((re) => re.test(tag))) return "Denied"
  if (allow.length > 0 && !allow.some((re) => re.test(tag))) return "NotAllowed"
  if (range !== undefined) {
    const v = version(tag)
    if (v === undefined) return allow.length > 0 ? undefined : "NotAVersion"
    if (!range.test(v)) return "OutOfRange"
  }
  return undefined
}

/**
 * Whether the rule selects the tag (no rule selects every tag).
 *
 * @since 0.5.0
 * @category filtering
 */
export const matches = (rule: Rule | undefined, tag: string): boolean => rejection(rule, tag) === undefined

/**
 * The tags the rule selects, without duplicates, versions first in ascending order, then the others in
 * code-point order.
 *
 * @since 0.5.0
 * @category filtering
 */
export const select = (rule: Rule | undefined, tags: ReadonlyArray<string>): ReadonlyArray<string> =>
  sort(Array.from(new Set(tags)).filter((tag) => matches(rule, tag)))

/**
 * Sorts tags: versions ascending (equal versions such as `3.2` and `v3.2.0` in code-point order), then the
 * other tags in code-point order.
 *
 * @since 0.5.0
 * @category ordering
 */
export const sort = (tags: ReadonlyArray<string>): ReadonlyArray<string> => {
  const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  const keyed = tags.map((tag) => ({ tag, version: version(tag) }))
  return keyed
    .sort((a, b) => {
      if (a.version !== undefined && b.version !== undefined) {
        return semver.compare(a.version, b.version) || byText(a.tag, b.tag)
      }
      if (a.version !== undefined) return -1
      if (b.version !== undefined) return 1
      return byText(a.tag, b.tag)
    })
    .map(({ tag }) => tag)
}
