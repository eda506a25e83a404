/**
 * Token scopes as in the Docker token specification: `repository:library/ubuntu:pull,push`,
 * `registry:catalog:*`. A scope names a resource (`type:name`) and the actions wanted on it.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"

/**
 * One scope. `type` is usually `repository` or `registry` and may carry a resource class
 * (`repository(plugin)`); `name` may contain `:` (a registry host with a port).
 *
 * @since 0.1.0
 * @category models
 */
export interface Scope {
  readonly type: "repository" | "registry" | (string & {})
  readonly name: string
  readonly actions: ReadonlyArray<string>
}

const actionRank = (action: string): number => action === "pull" ? 0 : action === "push" ? 1 : 2

const sortActions = (actions: Iterable<string>): ReadonlyArray<string> =>
  Array.from(new Set(actions)).sort((a, b) => actionRank(a) - actionRank(b) || (a < b ? -1 : a > b ? 1 : 0))

/**
 * Builds a scope; actions are de-duplicated and ordered (`pull`, `push`, then the rest alphabetically).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (type: string, name: string, actions: Iterable<string>): Scope => ({
  type,
  name,
  actions: sortActions(actions)
})

/**
 * `repository:<name>:<actions>`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const repository = (name: string, actions: Iterable<string>): Scope => make("repository", name, actions)

/**
 * `repository:<name>:pull`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const pull = (name: string): Scope => repository(name, ["pull"])

/**
 * `repository:<name>:pull,push` (a push needs pull too, to check for existing blobs).
 *
 * @since 0.1.0
 * @category constructors
 */
export const push = (name: string): Scope => repository(name, ["pull", "push"])

/**
 * `repository:<name>:delete`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const remove = (name: string): Scope => repository(name, ["delete"])

/**
 * `registry:catalog:*`, the scope of `GET /v2/_catalog`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const catalog: Scope = make("registry", "catalog", ["*"])

/**
 * Parses one scope. The type runs up to the first `:`, the actions follow the last `:`, and the name is
 * what lies between. Returns `None` for anything without a type, name and at least one action.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Option.Option<Scope> => {
  const s = input.trim()
  const first = s.indexOf(":")
  const last = s.lastIndexOf(":")
  if (first <= 0 || last === first || /\s/.test(s)) return Option.none()
  const type = s.slice(0, first)
  const name = s.slice(first + 1, last)
  const actions = s.slice(last + 1).split(",").filter((a) => a.length > 0)
  if (name.length === 0 || actions.length === 0) return Option.none()
  return Option.some(make(type, name, actions))
}

/**
 * Parses a space-separated list of scopes, as in a challenge's `scope` parameter or an OAuth2 `scope` field.
 * Entries that are not scopes are skipped.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseList = (input: string): ReadonlyArray<Scope> =>
  input.split(/\s+/).flatMap((part) => part.length === 0 ? [] : Option.toArray(parse(part)))

/**
 * `type:name:action1,action2`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (scope: Scope): string => `${scope.type}:${scope.name}:${scope.actions.join(",")}`

/**
 * Merges scopes on the same resource (`type` and `name`) into one with the union of their actions,
 * keeping the order in which resources first appear. Pull + push on one repository and pull on another
 * (a cross-repository mount) stay two scopes.
 *
 * @since 0.1.0
 * @category combinators
 */
export const merge = (scopes: Iterable<Scope>): ReadonlyArray<Scope> => {
  const byResource = new Map<string, { type: string; name: string; actions: Array<string> }>()
  for (const scope of scopes) {
    const key = `${scope.type}:${scope.name}`
    const existing = byResource.get(key)
    if (existing === undefined) byResource.set(key, { type: scope.type, name: scope.name, actions: [...scope.actions] })
    else existing.actions.push(...scope.actions)
  }
  return Array.from(byResource.values(), (s) => make(s.type, s.name, s.actions))
}

/**
 * Whether the scopes in `have` grant everything in `need` (an action `*` grants every action).
 *
 * @since 0.1.0
 * @category predicates
 */
export const covers = (have: ReadonlyArray<Scope>, need: ReadonlyArray<Scope>): boolean =>
  need.every((scope) =>
    scope.actions.every((action) =>
      have.some((h) =>
        h.type === scope.type && h.name === scope.name && (h.actions.includes("*") || h.actions.includes(action))
      )
    )
  )

/**
 * The scopes of `need` (or the part of their actions) that `have` does not grant.
 *
 * @since 0.1.0
 * @category combinators
 */
export const missing = (have: ReadonlyArray<Scope>, need: ReadonlyArray<Scope>): ReadonlyArray<Scope> =>
  merge(need).flatMap((scope) => {
    const actions = scope.actions.filter((action) => !covers(have, [make(scope.type, scope.name, [action])]))
    return actions.length === 0 ? [] : [make(scope.type, scope.name, actions)]
  })

/**
 * A canonical string for a set of scopes (merged, sorted), used as a cache key.
 *
 * @since 0.1.0
 * @category formatting
 */
export const key = (scopes: Iterable<Scope>): string => merge(scopes).map(format).sort().join(" ")
