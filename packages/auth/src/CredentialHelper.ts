/**
 * The docker credential helper protocol: `docker-credential-<name> get|store|erase|list`, run as a child
 * process with the request on stdin and a JSON answer on stdout. Every run is bounded: it is killed after
 * `timeout` and its output is cut off at 64 KiB. Helper output never appears in errors or logs, except a
 * helper's one-line error message.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import type * as PlatformError from "@effect/platform/Error"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import { CredentialHelperError } from "./AuthError.js"
import { collectText } from "./internal/boundedText.js"

/**
 * How helpers are run.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Kill the helper after this long. Default 30 seconds (a helper may prompt, e.g. for a GPG passphrase). */
  readonly timeout?: Duration.DurationInput
  /** Extra environment for the helper, merged over the current one (e.g. a `PATH` to find it on). */
  readonly env?: Readonly<Record<string, string>>
}

/**
 * What a helper's `get` returns. `username` is `<token>` when the secret is an identity token.
 *
 * @since 0.1.0
 * @category models
 */
export interface HelperCredential {
  readonly serverUrl: string
  readonly username: string
  readonly secret: Redacted.Redacted<string>
}

/**
 * The message helpers print (on stdout, exit code 1) when they hold nothing for a server.
 *
 * @since 0.1.0
 * @category constants
 */
export const NOT_FOUND_MESSAGE = "credentials not found in native keychain"

const MAX_OUTPUT = 64 * 1024
const DEFAULT_TIMEOUT = Duration.seconds(30)

type Action = "get" | "store" | "erase" | "list"

interface RunResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

interface Failure {
  readonly reason: string
  readonly cause?: unknown
}

const collect = (stream: Stream.Stream<Uint8Array, PlatformError.PlatformError>, label: string) =>
  collectText(stream, MAX_OUTPUT, (): Failure => ({ reason: `${label} exceeded ${MAX_OUTPUT} bytes` })).pipe(
    Effect.mapError((e): Failure => "reason" in e ? e : { reason: `could not read ${label}`, cause: e })
  )

/** One line of helper output, safe to show: the first line, cut to 200 characters, never JSON. */
const safeMessage = (text: string): string => {
  const line = text.trim().split("\n")[0]?.trim() ?? ""
  if (line.startsWith("{") || line.startsWith("[")) return "(output withheld)"
  return line.length > 200 ? `${line.slice(0, 200)}...` : line
}

const run = (
  helper: string,
  action: Action,
  input: string,
  serverUrl: string | undefined,
  options: Options | undefined
): Effect.Effect<RunResult, CredentialHelperError, CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const executor = yield* CommandExecutor.CommandExecutor
    const error = (reason: string, cause?: unknown) =>
      new CredentialHelperError({
        helper,
        action,
        ...(serverUrl === undefined ? {} : { serverUrl }),
        reason,
        ...(cause === undefined ? {} : { cause })
      })
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) return yield* error("invalid helper name")
    const command = Command.make(`docker-credential-${helper}`, action).pipe(
      Command.feed(input),
      Command.env(options?.env ?? {})
    )
    return yield* Effect.scoped(Effect.gen(function*() {
      const process = yield* executor.start(command).pipe(
        Effect.mapError((e) =>
          e._tag === "SystemError" && e.reason === "NotFound"
            ? error(`docker-credential-${helper} was not found on PATH`, e)
            : error(`could not start docker-credential-${helper}`, e)
        )
      )
      const result = yield* Effect.all({
        stdout: collect(process.stdout, "stdout"),
        stderr: collect(process.stderr, "stderr"),
        exitCode: Effect.mapError(process.exitCode, (cause): Failure => ({ reason: "killed by a signal", cause }))
      }, { concurrency: "unbounded" }).pipe(
        Effect.timeoutFail({
          duration: options?.timeout ?? DEFAULT_TIMEOUT,
          onTimeout: (): Failure => ({
            reason: `timed out after ${Duration.format(options?.timeout ?? DEFAULT_TIMEOUT)}`
          })
        }),
        Effect.tapError(() => process.kill("SIGKILL").pipe(Effect.ignore)),
        Effect.mapError((failure) => error(failure.reason, failure.cause))
      )
      return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr }
    }))
  })

const GetResponse = Schema.parseJson(Schema.Struct({
  ServerURL: Schema.optional(Schema.String),
  Username: Schema.String,
  Secret: Schema.String
}))

/**
 * Asks a helper for the credentials of `serverUrl`. `None` when the helper holds nothing for it.
 *
 * @since 0.1.0
 * @category operations
 */
export const get = (
  helper: string,
  serverUrl: string,
  options?: Options
): Effect.Effect<Option.Option<HelperCredential>, CredentialHelperError, CommandExecutor.CommandExecutor> =>
  Effect.gen(function*() {
    const result = yield* run(helper, "get", serverUrl, serverUrl, options)
    const out = result.stdout.trim()
    if (result.exitCode !== 0) {
      if (out.includes(NOT_FOUND_MESSAGE) || result.stderr.includes(NOT_FOUND_MESSAGE)) return Option.none()
      return yield* new CredentialHelperError({
        helper,
        action: "get",
        serverUrl,
        reason: safeMessage(out.length > 0 ? out : result.stderr) || "failed",
        exitCode: result.exitCode
      })
    }
    const decoded = Schema.decodeUnknownOption(GetResponse)(out)
    if (Option.isNone(decoded)) {
      return yield* new CredentialHelperError({
        helper,
        action: "get",
        serverUrl,
        reason: "the answer is not {\"Username\", \"Secret\"} JSON"
      })
    }
    const { Secret, ServerURL, Username } = decoded.value
    if (Secret.length === 0 && Username.length === 0) return Option.none()
    return Option.some({ serverUrl: ServerURL ?? serverUrl, username: Username, secret: Redacted.make(Secret) })
  }).pipe(Effect.withSpan("CredentialHelper.get", { attributes: { helper } }))

const expectSuccess = (helper: string, action: Action, serverUrl: string | undefined) => (result: RunResult) =>
  result.exitCode === 0 ? Effect.void : Effect.fail(
    new CredentialHelperError({
      helper,
      action,
      ...(serverUrl === undefined ? {} : { serverUrl }),
      reason: safeMessage(result.stdout.trim().length > 0 ? result.stdout : result.stderr) || "failed",
      exitCode: result.exitCode
    })
  )

/**
 * Stores credentials through a helper.
 *
 * @since 0.1.0
 * @category operations
 */
export const store = (
  helper: string,
  credential: HelperCredential,
  options?: Options
): Effect.Effect<void, CredentialHelperError, CommandExecutor.CommandExecutor> =>
  run(
    helper,
    "store",
    JSON.stringify({
      ServerURL: credential.serverUrl,
      Username: credential.username,
      Secret: Redacted.value(credential.secret)
    }),
    credential.serverUrl,
    options
  ).pipe(
    Effect.flatMap(expectSuccess(helper, "store", credential.serverUrl)),
    Effect.withSpan("CredentialHelper.store", { attributes: { helper } })
  )

/**
 * Erases the credentials of `serverUrl` from a helper. Erasing what is not there is not an error.
 *
 * @since 0.1.0
 * @category operations
 */
export const erase = (
  helper: string,
  serverUrl: string,
  options?: Options
): Effect.Effect<void, CredentialHelperError, CommandExecutor.CommandExecutor> =>
  run(helper, "erase", serverUrl, serverUrl, options).pipe(
    Effect.flatMap((result) =>
      result.exitCode !== 0 && (result.stdout + result.stderr).includes(NOT_FOUND_MESSAGE)
        ? Effect.void
        : expectSuccess(helper, "erase", serverUrl)(result)
    ),
    Effect.withSpan("CredentialHelper.erase", { attributes: { helper } })
  )

/**
 * Lists the servers a helper holds credentials for, with their user names.
 *
 * @since 0.1.0
 * @category operations
 */
export const list = (
  helper: string,
  options?: Options
): Effect.Effect<Readonly<Record<string, string>>, CredentialHelperError, CommandExecutor.CommandExecutor> =>
  run(helper, "list", "", undefined, options).pipe(
    Effect.tap(expectSuccess(helper, "list", undefined)),
    Effect.flatMap((result) =>
      Schema.decodeUnknown(Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.String })))(
        result.stdout.trim()
      ).pipe(
        Effect.mapError(() =>
          new CredentialHelperError({ helper, action: "list", reason: "the answer is not a JSON object of strings" })
        )
      )
    ),
    Effect.withSpan("CredentialHelper.list", { attributes: { helper } })
  )
