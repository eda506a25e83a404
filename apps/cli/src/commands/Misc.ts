/**
 * `version`, `completion`, `registry serve`, `cache dir`, `cache clean`.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { CliFailure } from "../CliError.js"
import { root } from "../GlobalOptions.js"
import { describe, withOps } from "../internal/lazy.js"
import { version as versionString } from "../Version.js"

/**
 * @since 0.1.0
 * @category commands
 */
export const version = Command.make("version", {}, () =>
  Effect.flatMap(root, (globals) =>
    Effect.sync(() => {
      process.stdout.write(
        globals.json
          ? JSON.stringify({ version: versionString, node: process.versions.node }) + "\n"
          : `ocidist ${versionString}\n`
      )
    }))).pipe(Command.withDescription(describe("Print the version.", ["ocidist version", "ocidist version --json"])))

const serve = Command.make("serve", {}, () =>
  Effect.fail(
    new CliFailure({
      detail: "registry serve is not available yet: the embedded registry has not been built (use docker-registry or " +
        "`crane registry serve` meanwhile)",
      exitCode: 2
    })
  )).pipe(Command.withDescription("Start the embedded registry (not available yet: exits with code 2)."))

/**
 * @since 0.1.0
 * @category commands
 */
export const registry = Command.make("registry").pipe(
  Command.withDescription("The embedded registry."),
  Command.withSubcommands([serve])
)

/**
 * `completion <shell>`, printing what `script` generates (the finished tree contains this command, so the
 * tree is passed in lazily).
 *
 * @since 0.1.0
 * @category commands
 */
export const completion = (
  script: (shell: "bash" | "zsh" | "fish") => Effect.Effect<Array<string>>
) =>
  Command.make(
    "completion",
    {
      shell: Args.choice([["bash", "bash"], ["zsh", "zsh"], ["fish", "fish"]] as const, { name: "shell" })
    },
    ({ shell }) =>
      Effect.gen(function*() {
        const lines = yield* script(shell)
        yield* Effect.sync(() => process.stdout.write(lines.join("\n") + "\n"))
      })
  ).pipe(Command.withDescription(describe(
    "Print a shell completion script (the same as `ocidist --completions <shell>`).",
    [
      "ocidist completion bash > /etc/bash_completion.d/ocidist",
      "ocidist completion zsh > \"${fpath[1]}/_ocidist\"",
      "ocidist completion fish > ~/.config/fish/completions/ocidist.fish"
    ]
  )))

const cacheDir = Command.make("dir", {}, () => withOps((ops, globals) => ops.cacheDir(globals))).pipe(
  Command.withDescription(describe(
    "Print the cache directory ($OCIDIST_CACHE_DIR, else $XDG_CACHE_HOME/ocidist, else ~/.cache/ocidist).",
    ["ocidist cache dir", "du -sh \"$(ocidist cache dir)\""]
  ))
)

const cacheClean = Command.make("clean", {}, () => withOps((ops, globals) => ops.cacheClean(globals))).pipe(
  Command.withDescription(describe(
    "Remove the data kept by unfinished archive writes (`pull … oci-archive:…` or `docker-archive:…` that " +
      "failed or were interrupted keep their verified blobs under <cache>/staging, so a rerun resumes them).",
    ["ocidist cache clean", "ocidist cache clean --json"]
  ))
)

/**
 * `cache dir`, `cache clean`.
 *
 * @since 0.2.0
 * @category commands
 */
export const cache = Command.make("cache").pipe(
  Command.withDescription("The cache directory: where unfinished archive writes keep their data."),
  Command.withSubcommands([cacheDir, cacheClean])
)
