/**
 * Per-command credentials: `copy --src-creds USER[:PASS]`, `--dest-creds`, and their `-stdin` forms. Each
 * applies to the registry host of its location only, before the environment and docker's config.
 */
import * as Credentials from "@ocidist/auth/Credentials"
import * as Registry from "@ocidist/reference/Registry"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Location from "ocidist/Location"
import type { CliFailure } from "../../CliError.js"
import { UsageError } from "../../CliError.js"
import * as Prompt from "../prompt.js"

/** The credentials flags of one side of a copy. */
export interface Side {
  /** `source` or `destination`. */
  readonly role: string
  /** The flag name without dashes: `src-creds`, `dest-creds`. */
  readonly flag: string
  readonly location: string
  readonly creds: Option.Option<Redacted.Redacted<string>>
  readonly stdin: boolean
}

/** Explicit credentials keyed by registry host, for `Services.provide`. */
export type Explicit = ReadonlyArray<readonly [string, Credentials.Credential]>

const hostOf = (side: Side): Effect.Effect<string, UsageError> =>
  Either.match(Location.parse(side.location), {
    onLeft: (error) => Effect.fail(new UsageError({ detail: error.message })),
    onRight: (location) =>
      location._tag === "Registry"
        ? Effect.succeed(location.reference.registry)
        : Effect.fail(
          new UsageError({
            detail: `--${side.flag}: the ${side.role} ${side.location} is not in a registry, so it takes no credentials`
          })
        )
  })

/** `USER[:PASS]`: a missing password is asked for on a terminal, else a usage error. */
const parse = (
  flag: string,
  text: string,
  host: string
): Effect.Effect<Credentials.Credential, UsageError | CliFailure> => {
  const colon = text.indexOf(":")
  const username = colon === -1 ? text : text.slice(0, colon)
  if (username === "") return Effect.fail(new UsageError({ detail: `--${flag}: expected USER[:PASS], got no user` }))
  if (colon !== -1) return Effect.succeed(Credentials.basic(username, text.slice(colon + 1)))
  return Effect.map(
    Prompt.secret(
      `Password for ${username} at ${host}: `,
      `--${flag} ${username}: no password, and stdin is not a terminal to ask for it; give USER:PASS, or pipe it ` +
        `with --${flag}-stdin`
    ),
    (password) => Credentials.basic(username, password)
  )
}

/**
 * The explicit credentials of the sides that have any: at most one side reads stdin; both sides naming the
 * same registry host with different credentials is a usage error (one host, one set of credentials).
 */
export const resolve = (sides: ReadonlyArray<Side>): Effect.Effect<Explicit, UsageError | CliFailure> =>
  Effect.gen(function*() {
    const readers = sides.filter((s) => s.stdin)
    if (readers.length > 1) {
      return yield* new UsageError({
        detail: `only one of ${readers.map((s) => `--${s.flag}-stdin`).join(" and ")} can read stdin`
      })
    }
    const found: Array<readonly [string, Credentials.Credential]> = []
    for (const side of sides) {
      if (side.stdin && Option.isSome(side.creds)) {
        return yield* new UsageError({ detail: `use either --${side.flag} or --${side.flag}-stdin, not both` })
      }
      if (!side.stdin && Option.isNone(side.creds)) continue
      const host = yield* hostOf(side)
      const text = side.stdin
        ? (yield* Prompt.readStdin(`--${side.flag}-stdin USER:PASS`)).trim()
        : Redacted.value(Option.getOrThrow(side.creds))
      if (side.stdin && !text.includes(":")) {
        return yield* new UsageError({ detail: `--${side.flag}-stdin: expected USER:PASS on stdin` })
      }
      const credential = yield* parse(side.flag, text, host)
      const other = found.find(([h]) => Registry.same(h, host))
      if (other !== undefined) {
        if (JSON.stringify(redactless(other[1])) !== JSON.stringify(redactless(credential))) {
          return yield* new UsageError({
            detail: `the source and the destination are both on ${host}: give one set of credentials for it`
          })
        }
        continue
      }
      found.push([host, credential])
    }
    return found
  })

const redactless = (credential: Credentials.Credential) =>
  credential._tag === "Basic" ? [credential.username, Redacted.value(credential.password)] : [credential._tag]
