/**
 * `registry serve`: the embedded registry of `@ocidist/registry` on its own HTTP server, until Ctrl-C or
 * SIGTERM. Loaded on its own (not through `ops/index.ts`), so that the other commands never evaluate the
 * registry's server.
 */
import * as NodeRegistry from "@ocidist/registry/NodeRegistry"
import type * as Registry from "@ocidist/registry/Registry"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as path from "node:path"
import { CliFailure, UsageError } from "../../CliError.js"
import type { Globals } from "../../GlobalOptions.js"
import { markStopsOnSignal } from "../signals.js"
import { info, json, line } from "./common.js"

/** The parsed options of `registry serve`. */
export interface ServeArgs {
  readonly port: number
  readonly address: string
  readonly dir: Option.Option<string>
  readonly memory: boolean
  readonly auth: ReadonlyArray<string>
  readonly anonymousPull: boolean
}

const authSyntax = "--auth takes basic:USER:PASSWORD-FILE or token:USER:PASSWORD-FILE"

/** `basic:alice:/run/secrets/alice` → the user, the password read from the file (trailing newlines dropped). */
const userOf = (spec: string) =>
  Effect.gen(function*() {
    const match = /^(basic|token):([^:]+):(.+)$/.exec(spec)
    if (match === null) return yield* new UsageError({ detail: `${authSyntax}, got "${spec}"` })
    const [, type, username, file] = match as unknown as [string, "basic" | "token", string, string]
    const text = yield* Effect.try({
      try: () => fs.readFileSync(file, "utf8"),
      catch: (e) =>
        new CliFailure({
          // the reason without the path, which may be a password typed where the file belongs
          detail: `--auth ${type}:${username}: cannot read the password file (${
            typeof e === "object" && e !== null && "code" in e ? String(e.code) : "unreadable"
          })`
        })
    })
    const password = text.replace(/[\r\n]+$/, "")
    if (password === "") {
      return yield* new UsageError({ detail: `--auth ${type}:${username}: the password file ${file} is empty` })
    }
    return { type, user: { username, password } satisfies Registry.User }
  })

const authOf = (args: ServeArgs) =>
  Effect.gen(function*() {
    if (args.auth.length === 0) {
      if (args.anonymousPull) {
        return yield* new UsageError({ detail: "--anonymous-pull needs --auth (without it everyone may pull)" })
      }
      return undefined
    }
    const users = yield* Effect.forEach(args.auth, userOf)
    const types = new Set(users.map((u) => u.type))
    if (types.size > 1) return yield* new UsageError({ detail: "--auth: use either basic: or token: users, not both" })
    const names = users.map((u) => u.user.username)
    const twice = names.find((name, i) => names.indexOf(name) !== i)
    if (twice !== undefined) return yield* new UsageError({ detail: `--auth: user ${twice} is given twice` })
    return {
      type: users[0]!.type,
      users: users.map((u) => u.user),
      ...(args.anonymousPull ? { anonymousPull: true } : {})
    } satisfies Registry.AuthOptions
  })

/** `registry serve` */
export const serve = (globals: Globals, args: ServeArgs) =>
  Effect.scoped(Effect.gen(function*() {
    if (Option.isSome(args.dir) && args.memory) {
      return yield* new UsageError({
        detail: "--dir and --memory cannot be used together (--dir DIR keeps the content in DIR; --memory, the " +
          "default, keeps it in memory until the registry stops)"
      })
    }
    if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
      return yield* new UsageError({ detail: `--port must be 0-65535 (0: any free port), got ${args.port}` })
    }
    const auth = yield* authOf(args)
    const storage = Option.match(args.dir, {
      onNone: () => "memory" as const,
      onSome: (dir) => ({ directory: path.resolve(dir) })
    })
    const registry = yield* NodeRegistry.start({
      port: args.port,
      address: args.address,
      storage,
      ...(auth === undefined ? {} : { auth })
    })
    yield* markStopsOnSignal
    if (globals.json) {
      yield* json({
        host: registry.host,
        url: registry.url,
        port: registry.port,
        storage: registry.storage,
        auth: auth?.type ?? null
      })
    } else if (globals.quiet) {
      yield* line(registry.host)
    } else {
      const where = registry.storage === "memory" ? "memory" : `directory ${registry.storage}`
      const access = auth === undefined
        ? ""
        : `, ${auth.type} auth${auth.anonymousPull === true ? ", anonymous pull" : ""}`
      yield* line(`ocidist registry: serving ${registry.host} (${where}${access})`)
    }
    yield* info(
      globals,
      `ocidist registry: push with \`ocidist push ./layout ${registry.host}/NAME:TAG\`; Ctrl-C stops it`
    )
    return yield* Effect.never.pipe(Effect.onInterrupt(() => info(globals, "ocidist registry: stopped")))
  }))
