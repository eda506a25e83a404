/**
 * The `ocidist` program: parses the command line, runs the command, maps failures to one line on stderr and
 * an exit code. Loaded by `bin.ts`.
 *
 * @since 0.1.0
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { isPlatformError } from "@effect/platform/Error"
import { describePlatformError } from "@ocidist/layout/LayoutError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { root, run } from "./Cli.js"
import { UsageError } from "./CliError.js"
import * as ExitCode from "./ExitCode.js"
import * as Anonymous from "./internal/anonymous.js"
import { hoistGlobals, isJson, isVerbose } from "./internal/argv.js"
import * as Help from "./internal/help.js"
import { withStderrLogger } from "./internal/logger.js"
import { redactUrls } from "./internal/redact.js"
import { reportInterrupted } from "./internal/signals.js"
import * as Spec from "./internal/spec.js"
import { sanitize } from "./internal/terminal.js"
import * as Usage from "./internal/usage.js"

const verbose = isVerbose(process.argv)
const json = isJson(process.argv)

// A closed stdout (`ocidist tags … | head -1`) is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0)
})

const messageOf = (error: unknown): string =>
  // a file system error that no command wrapped: in words (`cannot open /x: not a directory`)
  isPlatformError(error)
    ? describePlatformError(error)
    : typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" &&
        error.message !== ""
    ? error.message
    : String(error)

/** What to try, for failures whose message does not say it already. */
const hintFor = (error: unknown, message: string): string => {
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : ""
  if (tag === "NotFound" && typeof error === "object" && error !== null && "registry" in error) {
    const registry = String(error.registry)
    const repository = "repository" in error && typeof error.repository === "string" ? error.repository : undefined
    if (/NAME_UNKNOWN/.test(message)) return `; list the repositories with \`ocidist catalog ${registry}\``
    if (/MANIFEST_UNKNOWN|manifest .* not found/.test(message) && repository !== undefined) {
      return `; list the tags with \`ocidist tags ${registry}/${repository}\``
    }
  }
  if (tag === "TransportError" || tag === "LoginError") {
    if (/ECONNREFUSED/.test(message)) return "; is the registry running at that address?"
    if (/certificate|self[- ]signed|CERT_|UNABLE_TO_VERIFY/i.test(message)) {
      return "; for a registry with a self-signed certificate, add --insecure"
    }
    if (/wrong version number|EPROTO|packet length too long/i.test(message)) {
      return "; the registry may speak plain HTTP: add --plain-http"
    }
    // a plain-HTTP request to a TLS port: the server closes the connection
    if (/ http:\/\/\S+ failed: .*(ECONNRESET|other side closed|socket hang up)/i.test(message)) {
      return "; the registry may speak HTTPS: add --tls"
    }
  }
  // a Go server's answer to a plain-HTTP request on its TLS port (HTTP 400)
  if (/HTTP request to an HTTPS server/i.test(message)) return "; the registry may speak HTTPS: add --tls"
  if ((tag === "Unauthorized" || tag === "Denied") && Anonymous.isMarked(error) && !/ocidist login/.test(message)) {
    const registry = typeof error === "object" && error !== null && "registry" in error ? String(error.registry) : ""
    return `; no credentials were used: log in with \`ocidist login ${registry}\``
  }
  if (tag === "InvalidLocation" || tag === "InvalidReference") return "; see `ocidist ref --help`"
  if (tag === "ListenFailed") {
    if (/EADDRINUSE/.test(message)) return "; another program listens there: choose another --port (0: any free port)"
    if (/EACCES/.test(message)) return "; ports below 1024 need privileges: choose another --port"
    if (/EADDRNOTAVAIL/.test(message)) return "; the address is not one of this machine's: check --address"
  }
  return ""
}

/** One line per line break. */
const flatten = (text: string): string => text.replace(/\s*\n\s*/g, " ")

/**
 * The failures of a cause with their stack frames, for `--verbose`: each message on one line (it may quote a
 * registry: a line feed in it must not start a line of its own), every line redacted and escaped.
 */
const verboseCause = (cause: Cause.Cause<unknown>): string =>
  Cause.prettyErrors(cause).map((error) => {
    const stack = error.stack ?? ""
    const at = stack.indexOf(error.message)
    const frames = (at === -1 ? stack : stack.slice(at + error.message.length)).split("\n")
      .filter((l) => /^\s+at /.test(l))
    return [`${error.name}: ${flatten(error.message)}`, ...frames].map((l) => sanitize(redactUrls(l))).join("\n")
  }).join("\n")

/**
 * The command line checked against the command tree before @effect/cli parses it (see usage.ts): `--help`
 * answered with our own help (help.ts), a usage error as one line. @effect/cli prints its own help and usage
 * documents with `Console.error`: silenced (a validation error it still raises is reported below, in one line);
 * the commands write to stdout and stderr directly, and with `Console.log`.
 */
const program = Effect.suspend(() => {
  const tree = Spec.fromDescriptor(root.descriptor)
  const outcome = Usage.check(tree, process.argv.slice(2))
  switch (outcome._tag) {
    case "Help":
      return Effect.sync(() => {
        process.stdout.write(Help.render(tree, outcome.command))
      })
    case "Invalid":
      return Effect.fail(new UsageError({ detail: outcome.message }))
    case "Run":
      return Effect.consoleWith((console) =>
        Effect.withConsole(run(hoistGlobals(process.argv)), { ...console, error: () => Effect.void })
      )
  }
})

const main = program.pipe(
  Effect.as(ExitCode.ExitCode.Ok as number),
  Effect.catchAllCause((cause) =>
    Effect.sync(() => {
      if (Cause.isInterruptedOnly(cause)) return reportInterrupted(json)
      const failure = Cause.failureOption(cause)
      const raised = failure._tag === "Some" ? failure.value : Cause.squash(cause)
      // what @effect/cli still refuses (a --timeout that is not a duration): one usage line, in words
      const error = ValidationError.isValidationError(raised)
        ? new UsageError({ detail: Spec.plainText(raised.error) || "invalid command line; see ocidist --help" })
        : raised
      const code = ExitCode.forError(error)
      const text = flatten(messageOf(error))
      const message = text + hintFor(error, text)
      if (json) {
        const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "Error"
        process.stderr.write(JSON.stringify({ event: "Error", error: tag, message, exitCode: code }) + "\n")
      } else {
        // the message quotes registries, layouts and archives: one line, control characters escaped
        process.stderr.write(`ocidist: ${sanitize(redactUrls(message))}\n`)
      }
      if (verbose) process.stderr.write(verboseCause(cause) + "\n")
      return code
    })
  ),
  withStderrLogger(verbose),
  // What @effect/cli needs (NodeContext would also start worker and child-process support).
  Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer))
)

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  // Log lines go to stderr through withStderrLogger, not through Effect's pretty logger as well.
  disablePrettyLogger: true,
  teardown: (exit, onExit) => {
    // 130 for an interrupted command, after one line (`ocidist: interrupted; run the same command again to
    // resume`); 0 for `registry serve`, which Ctrl-C and SIGTERM stop normally
    if (Exit.isFailure(exit)) return onExit(Cause.isInterruptedOnly(exit.cause) ? reportInterrupted(json) : 1)
    const code = typeof exit.value === "number" ? exit.value : 0
    if (code !== 0) return onExit(code)
    // Exit now rather than when the event loop has drained: Node would otherwise wait for V8's background
    // tasks (compilation, GC), which took 200-400 ms after every registry command. Every write to stdout has
    // completed by now (the commands wait for each write), and the empty write waits for anything queued.
    process.stdout.write("", () => process.exit(0))
  }
})
