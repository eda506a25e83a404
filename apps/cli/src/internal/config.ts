/**
 * The configuration file, as regctl's host configuration: `$OCIDIST_CONFIG`, else
 * `$XDG_CONFIG_HOME/ocidist/config.json`, else `~/.config/ocidist/config.json`:
 *
 * ```json
 * { "registries": { "127.0.0.1:5000": { "tls": "enabled" } } }
 * ```
 *
 * `tls`: `enabled` (HTTPS; certificates verified unless `--insecure` / `OCIDIST_INSECURE`), `disabled` (plain
 * HTTP), `insecure` (HTTPS without certificate verification). Read only by the commands that talk to registries,
 * once per run. A missing default file is no configuration; a file named by `OCIDIST_CONFIG` must exist.
 */
import type * as RegistryClient from "@ocidist/distribution/RegistryClient"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { UsageError } from "../CliError.js"

const Tls = Schema.Literal("enabled", "disabled", "insecure")

const RegistryEntry = Schema.Struct({ tls: Schema.optional(Tls) })

const File = Schema.Struct({
  registries: Schema.optional(Schema.Record({ key: Schema.String, value: RegistryEntry }))
})

/** @internal */
export type File = typeof File.Type

/** The file read, or none; `explicit` when `OCIDIST_CONFIG` named it. */
export const path = (env: NodeJS.ProcessEnv = process.env): { readonly path: string; readonly explicit: boolean } => {
  const named = env["OCIDIST_CONFIG"]
  if (named !== undefined && named !== "") return { path: NodePath.resolve(named), explicit: true }
  const xdg = env["XDG_CONFIG_HOME"]
  // the XDG base directory specification: a relative XDG_CONFIG_HOME is ignored
  const base = xdg !== undefined && NodePath.isAbsolute(xdg) ? xdg : NodePath.join(NodeOs.homedir(), ".config")
  return { path: NodePath.join(base, "ocidist", "config.json"), explicit: false }
}

/** `registries["127.0.0.1:5000"].tls` */
const formatPath = (segments: ReadonlyArray<PropertyKey>): string =>
  segments.map((s, i) =>
    typeof s === "string" && /^[A-Za-z_][\w]*$/.test(s)
      ? `${i === 0 ? "" : "."}${s}`
      : `[${JSON.stringify(typeof s === "symbol" ? String(s) : s)}]`
  ).join("")

const invalid = (file: string, detail: string) =>
  new UsageError({ detail: `invalid configuration file ${file}: ${detail}` })

let cached: Either.Either<File, UsageError> | undefined

/**
 * Reads and decodes the configuration file (once per process). A malformed file, an unknown key or value is a
 * usage error naming the file and the key.
 *
 * @internal
 */
export const read: Effect.Effect<File, UsageError> = Effect.suspend(() => {
  cached ??= load(path())
  return cached
})

const load = (location: { readonly path: string; readonly explicit: boolean }): Either.Either<File, UsageError> => {
  let text: string
  try {
    text = NodeFs.readFileSync(location.path, "utf8")
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === "ENOENT" && !location.explicit) return Either.right({})
    return Either.left(
      code === "ENOENT"
        ? new UsageError({ detail: `OCIDIST_CONFIG names ${location.path}, which does not exist` })
        : invalid(location.path, `cannot be read (${code ?? String(error)})`)
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Either.left(invalid(location.path, `not JSON (${error instanceof Error ? error.message : String(error)})`))
  }
  return Either.mapLeft(
    Schema.decodeUnknownEither(File, { onExcessProperty: "error", errors: "first" })(json),
    (error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      if (issue === undefined) return invalid(location.path, String(error))
      const at = formatPath(issue.path)
      const message = issue._tag === "Unexpected"
        ? `unknown key ${at} (known: ${issue.path.length <= 1 ? "registries" : "tls"})`
        : `${at === "" ? "" : `${at}: `}${describeIssue(issue.path, issue.message)}`
      return invalid(location.path, message)
    }
  )
}

const describeIssue = (at: ReadonlyArray<PropertyKey>, message: string): string =>
  at.length === 3 && at[2] === "tls"
    ? `expected "enabled", "disabled" or "insecure", ${message.replace(/^.*actual /s, "got ")}`
    : at.length === 0
    ? "expected an object with a \"registries\" object"
    : at.length === 1
    ? "expected an object of registries"
    : at.length === 2
    ? "expected an object such as { \"tls\": \"enabled\" }"
    : message

/**
 * The per-registry options of the file: `enabled` → HTTPS, `disabled` → plain HTTP, `insecure` → HTTPS without
 * certificate verification.
 *
 * @internal
 */
export const registries = (file: File): Record<string, RegistryClient.RegistryOptions> => {
  const out: Record<string, RegistryClient.RegistryOptions> = {}
  for (const [registry, entry] of Object.entries(file.registries ?? {})) {
    if (entry.tls === undefined) continue
    out[registry] = entry.tls === "disabled"
      ? { plainHttp: true }
      : entry.tls === "insecure"
      ? { plainHttp: false, insecure: true }
      : { plainHttp: false }
  }
  return out
}
