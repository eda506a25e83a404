/**
 * Options every command takes. They may be written before or after the command name
 * (`ocidist --json tags repo` and `ocidist tags repo --json` are the same).
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Timeout from "./internal/timeout.js"

/**
 * @since 0.1.0
 * @category options
 */
export const options = {
  json: Options.boolean("json").pipe(
    Options.withDescription(
      "Machine-readable output: one JSON document on stdout; progress as NDJSON events and errors as one JSON " +
        "line on stderr."
    )
  ),
  quiet: Options.boolean("quiet").pipe(
    Options.withAlias("q"),
    Options.withDescription("No progress and no informational output; results (digests, listings) only.")
  ),
  verbose: Options.boolean("verbose").pipe(
    Options.withAlias("v"),
    Options.withDescription("Log every HTTP request and response to stderr (credentials redacted); full error causes.")
  ),
  insecure: Options.boolean("insecure").pipe(
    Options.withDescription("Do not verify TLS certificates (any registry).")
  ),
  plainHttp: Options.boolean("plain-http").pipe(
    Options.withDescription(
      "Speak plain HTTP to every registry (loopback registries are tried over HTTPS first, then plain HTTP)."
    )
  ),
  tls: Options.boolean("tls").pipe(
    Options.withDescription(
      "Speak HTTPS to every registry, loopback ones too, never plain HTTP (per registry: OCIDIST_TLS)."
    )
  ),
  platform: Options.text("platform").pipe(
    Options.withDescription("Platform(s) to select from an index: os/arch[/variant], comma-separated."),
    Options.optional
  ),
  jobs: Options.integer("jobs").pipe(
    Options.withAlias("j"),
    Options.withDescription("Blobs transferred in parallel (default 4)."),
    Options.optional
  ),
  timeout: Options.text("timeout").pipe(
    Options.withDescription(
      "Stop the whole command after this long (30s, 2m, 1h30m; a bare number is seconds): it is interrupted as " +
        "by Ctrl-C and exits 1 with `timed out after … (--timeout)`. Default: no limit."
    ),
    Options.mapEffect((text) => {
      const parsed = Timeout.parse(text)
      return parsed === undefined
        ? Effect.fail(ValidationError.invalidValue(HelpDoc.p(
          `--timeout: expected a duration such as 30s, 2m or 1h30m (a bare number is seconds), got "${text}"`
        )))
        : Effect.succeed(parsed)
    }),
    Options.optional
  )
}

/**
 * The parsed global options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Globals {
  readonly json: boolean
  readonly quiet: boolean
  readonly verbose: boolean
  readonly insecure: boolean
  readonly plainHttp: boolean
  /** @since 0.4.0 */
  readonly tls: boolean
  readonly platform: Option.Option<string>
  readonly jobs: Option.Option<number>
  readonly timeout: Option.Option<Timeout.Timeout>
}

/**
 * The root command without its subcommands. Subcommand handlers read the global options with
 * `yield* root`.
 *
 * @since 0.1.0
 * @category commands
 */
export const root = Command.make("ocidist", options)

/**
 * The platforms of `--platform`, split on commas.
 *
 * @since 0.1.0
 * @category getters
 */
export const platforms = (globals: Globals): ReadonlyArray<string> | undefined =>
  Option.match(globals.platform, {
    onNone: () => undefined,
    onSome: (p) => p.split(",").map((s) => s.trim()).filter((s) => s !== "")
  })
