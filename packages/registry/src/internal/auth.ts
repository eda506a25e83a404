/**
 * Access control of the embedded registry: Basic authentication, or Bearer tokens from its own token
 * endpoint (`GET /token?service=…&scope=…`, Docker's token protocol), with scopes per repository and
 * action. Tokens are random and kept in memory with their grants; passwords are compared in constant time
 * and never logged.
 *
 * @internal
 */
import type * as Headers from "@effect/platform/Headers"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type { AuthOptions, User } from "../Registry.js"
import { type Failure, failure, randomHex } from "./protocol.js"

export type Action = "pull" | "push" | "delete"

/** What a request needs: actions on a repository, or the catalog. */
export type Need =
  | { readonly _tag: "Repository"; readonly name: string; readonly actions: ReadonlyArray<Action> }
  | { readonly _tag: "Catalog" }
  | { readonly _tag: "None" }

interface Grant {
  readonly type: string
  readonly name: string
  readonly actions: ReadonlyArray<string>
}

interface Token {
  readonly grants: ReadonlyArray<Grant>
  readonly expires: number
}

export const SERVICE = "ocidist-registry"

const decoder = new TextDecoder()
const encoder = new TextEncoder()

const sameText = (a: string, b: string) => {
  const x = encoder.encode(a)
  const y = encoder.encode(b)
  let diff = x.length ^ y.length
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i % x.length] ?? 0) ^ (y[i % y.length] ?? 0)
  return diff === 0
}

const base64ToText = (b64: string): string | undefined => {
  try {
    const binary = atob(b64)
    return decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))
  } catch {
    return undefined
  }
}

const randomToken = () => randomHex(32)

/** The user a `Basic` header names, when the password matches; `null` when a header is there but wrong. */
const basicUser = (users: ReadonlyArray<User>, header: string | undefined): User | null | undefined => {
  if (header === undefined || !/^basic /i.test(header)) return undefined
  const text = base64ToText(header.slice(6).trim())
  if (text === undefined) return null
  const colon = text.indexOf(":")
  if (colon === -1) return null
  const username = text.slice(0, colon)
  const password = text.slice(colon + 1)
  // `Basic Og==` (":") is what clients without credentials send after a Basic challenge: anonymous
  if (username === "" && password === "") return undefined
  let found: User | null = null
  for (const user of users) {
    // every user is compared, so timing does not tell which names exist
    if (sameText(user.username, username) && sameText(user.password, password)) found = user
  }
  return found
}

const allowedActions = (user: User | undefined, anonymousPull: boolean): ReadonlyArray<Action> =>
  user === undefined
    ? (anonymousPull ? ["pull"] : [])
    : user.readOnly === true
    ? ["pull"]
    : ["pull", "push", "delete"]

const scopeOf = (need: Need) =>
  need._tag === "Catalog"
    ? "registry:catalog:*"
    : need._tag === "Repository"
    ? `repository:${need.name}:${need.actions.join(",")}`
    : ""

export interface Access {
  /** `undefined` when the request may go on, else the 401/403 to answer. */
  readonly check: (need: Need, headers: Headers.Headers) => Failure | undefined
  /** The token endpoint (token mode), else undefined. */
  readonly tokenEndpoint:
    | ((headers: Headers.Headers, query: URLSearchParams) => Effect.Effect<HttpServerResponse.HttpServerResponse>)
    | undefined
}

/** Tokens kept at most: past it, expired ones go, then the oldest. */
const MAX_TOKENS = 10_000

export const make = (options: AuthOptions | undefined, realm: (headers: Headers.Headers) => string): Access => {
  if (options === undefined) return { check: () => undefined, tokenEndpoint: undefined }
  const anonymousPull = options.anonymousPull === true
  const users = options.users

  if (options.type === "basic") {
    const challenge = { "www-authenticate": `Basic realm="ocidist-registry"` }
    return {
      check: (need, headers) => {
        const user = basicUser(users, headers["authorization"])
        if (user === null) return failure("UNAUTHORIZED", "invalid username or password", { headers: challenge })
        // `GET /v2/` challenges requests without credentials: clients (containers/image, docker) learn the
        // scheme there, and send no credentials later if it answers 200
        if (need._tag === "None") {
          return user === undefined
            ? failure("UNAUTHORIZED", "authentication required", { headers: challenge })
            : undefined
        }
        const allowed = allowedActions(user, anonymousPull)
        const ok = need._tag === "Catalog"
          ? user !== undefined
          : need.actions.every((a) => allowed.includes(a))
        if (ok) return undefined
        return user === undefined
          ? failure("UNAUTHORIZED", "authentication required", { headers: challenge })
          : failure("DENIED", `${user.username} may not ${scopeOf(need)}`)
      },
      tokenEndpoint: undefined
    }
  }

  const ttl = options.tokenTtlSeconds ?? 300
  const tokens = new Map<string, Token>()
  const challengeFor = (need: Need, headers: Headers.Headers, error?: string) => ({
    "www-authenticate": `Bearer realm="${realm(headers)}",service="${SERVICE}"` +
      (need._tag === "None" ? "" : `,scope="${scopeOf(need)}"`) +
      (error === undefined ? "" : `,error="${error}"`)
  })

  const check = (need: Need, headers: Headers.Headers): Failure | undefined => {
    // `GET /v2/` without a valid token is challenged too (without scope), as distribution does: clients learn
    // the realm there
    const header = headers["authorization"]
    if (header === undefined || !/^bearer /i.test(header)) {
      if (need._tag === "Repository" && anonymousPull && need.actions.every((a) => a === "pull")) return undefined
      return failure("UNAUTHORIZED", "authentication required", { headers: challengeFor(need, headers) })
    }
    const token = tokens.get(header.slice(7).trim())
    if (token === undefined || token.expires < Date.now()) {
      return failure("UNAUTHORIZED", "invalid or expired token", {
        headers: challengeFor(need, headers, "invalid_token")
      })
    }
    if (need._tag === "None") return undefined
    const ok = need._tag === "Catalog"
      ? token.grants.some((g) => g.type === "registry" && g.name === "catalog")
      : need.actions.every((a) =>
        token.grants.some((g) =>
          g.type === "repository" && g.name === need.name && (g.actions.includes(a) || g.actions.includes("*"))
        )
      )
    return ok ? undefined : failure("UNAUTHORIZED", `the token does not grant ${scopeOf(need)}`, {
      headers: challengeFor(need, headers, "insufficient_scope")
    })
  }

  const tokenEndpoint = (headers: Headers.Headers, query: URLSearchParams) =>
    Effect.sync(() => {
      const user = basicUser(users, headers["authorization"])
      if (user === null) {
        return HttpServerResponse.unsafeJson({
          errors: [{ code: "UNAUTHORIZED", message: "invalid username or password" }]
        }, {
          status: 401,
          headers: { "www-authenticate": `Basic realm="ocidist-registry"` }
        })
      }
      const grants: Array<Grant> = []
      for (const scope of query.getAll("scope").flatMap((s) => s.split(" ")).filter((s) => s !== "")) {
        const [type, ...rest] = scope.split(":")
        const actions = rest.pop()
        const name = rest.join(":")
        if (type === undefined || actions === undefined || name === "") continue
        if (type === "registry" && name === "catalog") {
          if (user !== undefined && user.readOnly !== true) grants.push({ type, name, actions: ["*"] })
          continue
        }
        if (type !== "repository") continue
        const allowed = allowedActions(user, anonymousPull)
        const requested = actions.split(",")
        const granted = requested.includes("*")
          ? allowed
          : requested.filter((a) => (allowed as ReadonlyArray<string>).includes(a))
        if (granted.length > 0) grants.push({ type, name, actions: granted })
      }
      const now = Date.now()
      const token = randomToken()
      // a token that grants nothing to nobody is not worth keeping: it answers as an invalid one
      if (grants.length > 0 || user !== undefined) {
        if (tokens.size >= MAX_TOKENS) {
          for (const [key, t] of tokens) if (t.expires < now) tokens.delete(key)
          for (const key of tokens.keys()) {
            if (tokens.size < MAX_TOKENS) break
            tokens.delete(key)
          }
        }
        tokens.set(token, { grants, expires: now + ttl * 1000 })
      }
      return HttpServerResponse.unsafeJson({
        token,
        access_token: token,
        expires_in: ttl,
        issued_at: new Date(now).toISOString()
      })
    })

  return { check, tokenEndpoint }
}
