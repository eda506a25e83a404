/**
 * `version`, `completion`, `registry serve`, `cache dir`, `cache clean`.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { root } from "../GlobalOptions.js"
import { describe, withOps } from "../internal/lazy.js"
import * as Timeout from "../internal/timeout.js"
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
    }))).pipe(Command.withDescription(describe({
      summary: "Print the version",
      examples: ["ocidist version", "ocidist version --json"]
    })))

const serve = Command.make(
  "serve",
  {
    port: Options.integer("port").pipe(
      Options.withDefault(5000),
      Options.withDescription("TCP port (default 5000; 0: any free port, printed on start-up)")
    ),
    address: Options.text("address").pipe(
      Options.withDefault("127.0.0.1"),
      Options.withDescription("address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)")
    ),
    dir: Options.text("dir").pipe(
      Options.withDescription(
        "keep the content in this directory, one OCI layout per repository (created if needed; survives restarts)"
      ),
      Options.optional
    ),
    memory: Options.boolean("memory").pipe(
      Options.withDescription("keep the content in memory, gone when the registry stops (the default)")
    ),
    auth: Options.text("auth").pipe(
      Options.withDescription(
        "require credentials: basic:USER:PASSWORD-FILE (HTTP Basic) or token:USER:PASSWORD-FILE (bearer tokens " +
          "from the registry's /token endpoint); the password is the file's content without its trailing " +
          "newline. Repeat for more users."
      ),
      Options.repeated
    ),
    anonymousPull: Options.boolean("anonymous-pull").pipe(
      Options.withDescription("with --auth: let requests without credentials pull (pushes still need a user)")
    )
  },
  (args) =>
    Effect.flatMap(root, (globals) =>
      Effect.flatMap(
        // loaded on its own: not a registry-client command (see withOps), and the others never load the server
        Effect.promise(() => import("../internal/ops/serve.js")),
        (impl) => impl.serve(globals, args)
      ).pipe(Timeout.limit(globals.timeout)))
).pipe(Command.withDescription(describe({
  summary: "Run the embedded OCI registry until Ctrl-C or SIGTERM",
  details: "OCI Distribution v1.1 (push, pull, mounts, tags, catalog, referrers, deletes) over plain HTTP. " +
    "Prints its address on stdout (with --json an object, with --quiet the host alone); exits 0 when stopped.",
  examples: [
    "ocidist registry serve --port 0 --json",
    "ocidist registry serve --port 5001 --dir ./registry-data",
    "ocidist registry serve --auth basic:admin:./admin.password --anonymous-pull",
    "ocidist -v registry serve   # logs every request"
  ]
})))

/**
 * @since 0.1.0
 * @category commands
 */
export const registry = Command.make("registry").pipe(
  Command.withDescription(describe({
    summary: "The embedded OCI registry",
    examples: ["ocidist registry serve --port 0", "ocidist registry serve --dir ./registry-data"]
  })),
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
  ).pipe(Command.withDescription(describe({
    summary: "Print a shell completion script",
    details: "The same as ocidist --completions <shell>.",
    examples: [
      "ocidist completion bash > /etc/bash_completion.d/ocidist",
      "ocidist completion zsh > \"${fpath[1]}/_ocidist\"",
      "ocidist completion fish > ~/.config/fish/completions/ocidist.fish"
    ]
  })))

const cacheDir = Command.make("dir", {}, () => withOps((ops, globals) => ops.cacheDir(globals))).pipe(
  Command.withDescription(describe({
    summary: "Print the cache directory",
    details: "$OCIDIST_CACHE_DIR, else $XDG_CACHE_HOME/ocidist, else ~/.cache/ocidist.",
    examples: ["ocidist cache dir", "du -sh \"$(ocidist cache dir)\""]
  }))
)

const cacheClean = Command.make("clean", {}, () => withOps((ops, globals) => ops.cacheClean(globals))).pipe(
  Command.withDescription(describe({
    summary: "Remove the data of unfinished archive writes",
    details: "A `pull … oci-archive:…` or `docker-archive:…` that failed or was interrupted keeps its verified " +
      "blobs under <cache>/staging, so that running it again resumes.",
    examples: ["ocidist cache clean", "ocidist cache clean --json"]
  }))
)

/**
 * `cache dir`, `cache clean`.
 *
 * @since 0.2.0
 * @category commands
 */
export const cache = Command.make("cache").pipe(
  Command.withDescription(describe({
    summary: "The cache directory, where unfinished archive writes keep their data",
    examples: ["ocidist cache dir", "ocidist cache clean"]
  })),
  Command.withSubcommands([cacheDir, cacheClean])
)
