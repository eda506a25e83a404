/**
 * `login`, `logout`, `auth token`.
 */
import * as Authenticator from "@ocidist/auth/Authenticator"
import * as Credentials from "@ocidist/auth/Credentials"
import * as Login from "@ocidist/auth/Login"
import * as AuthScope from "@ocidist/auth/Scope"
import * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { CliFailure, UsageError } from "../../CliError.js"
import type { Globals } from "../../GlobalOptions.js"
import * as Prompt from "../prompt.js"
import { info, json, line, parseReference, run } from "./common.js"
import { registryOptions } from "./services.js"

const registryOf = (input: string) => input.replace(/^(https?|docker):\/\//, "").replace(/\/.*$/, "")

const readPassword = Prompt.readStdin("the password")

/** `login <registry> -u <user> --password-stdin` */
export const login = (
  globals: Globals,
  args: {
    readonly registry: string
    readonly username: Option.Option<string>
    readonly password: Option.Option<Redacted.Redacted<string>>
    readonly passwordStdin: boolean
  }
) =>
  run(
    globals,
    Effect.gen(function*() {
      const registry = registryOf(args.registry)
      if (Option.isNone(args.username)) {
        return yield* new UsageError({ detail: "login needs a user name: -u <user>" })
      }
      if (args.passwordStdin && Option.isSome(args.password)) {
        return yield* new UsageError({ detail: "use either --password-stdin or -p, not both" })
      }
      if (Option.isSome(args.password)) {
        yield* Effect.logWarning(
          "a password on the command line can be seen by other users and stays in shell history; use --password-stdin"
        )
      }
      const password = args.passwordStdin
        ? yield* readPassword
        : Option.isSome(args.password)
        ? Redacted.value(args.password.value)
        : yield* Prompt.secret(
          "Password: ",
          "login needs a password: stdin is not a terminal to ask for it, so pipe it with --password-stdin " +
            "(or give -p <password>)"
        )
      if (password === "") return yield* new UsageError({ detail: "the password is empty" })
      // the scheme as the registry client decides it (--tls, --plain-http, OCIDIST_TLS, OCIDIST_PLAIN_HTTP, the
      // configuration file); without a choice a loopback registry is tried over HTTPS first, then plain HTTP
      const plainHttp = RegistryClient.registryOptions(yield* registryOptions(globals), registry).plainHttp
      const result = yield* Login.login({
        registry,
        credential: Credentials.basic(args.username.value, password) as Credentials.Basic,
        ...(plainHttp === undefined ? {} : { plainHttp })
      })
      if (Option.isNone(result.helper)) {
        yield* Effect.logWarning(
          `the password is stored unencrypted in ${result.path}; configure a credential helper ("credsStore" or ` +
            `"credHelpers" in that file) to keep it in the system's keychain`
        )
      }
      if (globals.json) {
        return yield* json({
          registry,
          username: args.username.value,
          configPath: result.path,
          key: result.key,
          helper: Option.getOrNull(result.helper)
        })
      }
      yield* info(
        globals,
        `credentials stored in ${
          Option.match(result.helper, {
            onNone: () => result.path,
            onSome: (h) => `docker-credential-${h} (${result.path})`
          })
        }`
      )
      yield* line("Login Succeeded")
    })
  )

/** `logout <registry>` */
export const logout = (globals: Globals, args: { readonly registry: string }) =>
  run(
    globals,
    Effect.gen(function*() {
      const registry = registryOf(args.registry)
      const result = yield* Login.logout({ registry })
      if (globals.json) return yield* json({ registry, configPath: result.path, removed: result.removed })
      yield* line(result.removed ? `Removed login credentials for ${registry}` : `Not logged in to ${registry}`)
    })
  )

/** `auth token <ref>` */
export const token = (globals: Globals, args: { readonly reference: string; readonly push: boolean }) =>
  run(
    globals,
    Effect.gen(function*() {
      const client = yield* RegistryClient.RegistryClient
      const authenticator = yield* Authenticator.Authenticator
      const ref = yield* parseReference(args.reference)
      const ping = yield* client.ping(ref.registry)
      if (ping.challenge === undefined || ping.status === 200) {
        return yield* new CliFailure({
          detail:
            `${ref.registry} does not ask for authentication (GET /v2/ answered ${ping.status}): there is no token`
        })
      }
      const scopes = [args.push ? AuthScope.push(ref.repository) : AuthScope.pull(ref.repository)]
      // as the registry client reached it: an http realm is only accepted for a registry spoken to over plain HTTP
      const plainHttp = ping.plainHttp
      const header = yield* authenticator.authorize(
        { registry: ref.registry, scopes, insecure: plainHttp, plainHttp },
        [ping.challenge]
      )
      if (Option.isNone(header)) {
        return yield* new CliFailure({ detail: `cannot answer the challenge of ${ref.registry}: ${ping.challenge}` })
      }
      const value = Redacted.value(header.value)
      const space = value.indexOf(" ")
      const scheme = space === -1 ? value : value.slice(0, space)
      if (scheme.toLowerCase() !== "bearer") {
        return yield* new CliFailure({
          detail: `${ref.registry} uses ${scheme} authentication, not tokens; the credentials themselves are sent`,
          exitCode: 4
        })
      }
      const tokenText = value.slice(space + 1)
      if (globals.json) {
        return yield* json({
          registry: ref.registry,
          repository: ref.repository,
          scopes: scopes.map(AuthScope.format),
          token: tokenText
        })
      }
      yield* line(tokenText)
    })
  )
