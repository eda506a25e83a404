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
import { UsageError } from "./CliError.js"
import * as Timeout from "./internal/timeout.js"

/**
 * @since 0.1.0
 * @category options
 */
export const options = {
  json: Options.boolean("json").pipe(
    Options.withDescription("JSON output: one document on stdout; progress and errors as JSON lines on stderr")
  ),
  quiet: Options.boolean("quiet").pipe(
    Options.withAlias("q"),
    Options.withDescription("No progress and no informational output: results only")
  ),
  verbose: Options.boolean("verbose").pipe(
    Options.withAlias("v"),
    Options.withDescription("Log every HTTP request and response (credentials redacted) and full error causes")
  ),
  insecure: Options.boolean("insecure").pipe(
    Options.withDescription("Do not verify TLS certificates")
  ),
  plainHttp: Options.boolean("plain-http").pipe(
    Options.withDescription("Speak plain HTTP to every registry (loopback ones: HTTPS first, then plain HTTP)")
  ),
  tls: Options.boolean("tls").pipe(
    Options.withDescription("Speak HTTPS to every registry, loopback ones too (per registry: OCIDIST_TLS)")
  ),
  platform: Options.text("platform").pipe(
    Options.withPseudoName("OS/ARCH[/VARIANT]"),
    Options.withDescription("Platform(s) to select from an index, comma-separated"),
    Options.optional
  ),
  jobs: Options.integer("jobs").pipe(
    Options.withAlias("j"),
    Options.withDescription("Blobs transferred in parallel (default 4)"),
    Options.optional
  ),
  timeout: Options.text("timeout").pipe(
    Options.withPseudoName("DURATION"),
    Options.withDescription("Stop the command after this long (30s, 2m, 1h30m; default: no limit), exit 1"),
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

/** The name of a parent command's subcommand, from its `subcommand` (`dir` of `cache dir`), if one was given. */
const subcommandName = (config: unknown): string | undefined => {
  if (typeof config !== "object" || config === null || !("subcommand" in config)) return undefined
  const sub = config.subcommand
  if (!Option.isOption(sub) || Option.isNone(sub) || !Array.isArray(sub.value)) return undefined
  const tag: unknown = sub.value[0]
  const key = typeof tag === "object" && tag !== null && "key" in tag ? String(tag.key) : ""
  return /\(([^)|]+)[^)]*\)$/.exec(key)?.[1]
}

/**
 * Makes `--platform` a usage error for a command that reads no manifest (`tags`, `login`, `registry serve`, …),
 * before anything else it does. `only` limits it to some subcommands (`manifest put`, not `manifest`).
 *
 * @since 0.4.0
 * @category combinators
 */
export const rejectPlatform = (name: string, only?: ReadonlyArray<string>) =>
<Name extends string, R, E, A>(
  self: Command.Command<Name, R, E, A>
): Command.Command<Name, R | Command.Command.Context<"ocidist">, E | UsageError, A> =>
  Command.transformHandler(
    self,
    (effect, config) =>
      Effect.flatMap(root, (globals): Effect.Effect<void, E | UsageError, R> => {
        const sub = subcommandName(config)
        if (Option.isNone(globals.platform) || (only !== undefined && (sub === undefined || !only.includes(sub)))) {
          return effect
        }
        return Effect.fail(
          new UsageError({ detail: `--platform does not apply to ${sub === undefined ? name : `${name} ${sub}`}` })
        )
      })
  )
