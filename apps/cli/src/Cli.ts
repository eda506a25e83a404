/**
 * The `ocidist` command tree.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { UsageError } from "./CliError.js"
import * as Auth from "./commands/Auth.js"
import * as Manifest from "./commands/Manifest.js"
import * as Misc from "./commands/Misc.js"
import * as Ref from "./commands/Ref.js"
import * as Repository from "./commands/Repository.js"
import * as Transfer from "./commands/Transfer.js"
import { root as base } from "./GlobalOptions.js"
import { describe } from "./internal/lazy.js"
import { version } from "./Version.js"

const subcommands = [
  Transfer.pull,
  Transfer.push,
  Transfer.copy,
  Transfer.cp,
  Manifest.manifest,
  Manifest.digest,
  Manifest.config,
  Manifest.blob,
  Manifest.inspect,
  Repository.tags,
  Repository.ls,
  Repository.catalog,
  Repository.tag,
  Repository.remove,
  Repository.untag,
  Repository.referrers,
  Auth.login,
  Auth.logout,
  Auth.auth,
  Ref.command,
  Misc.registry,
  Misc.cache,
  Misc.version
] as const

const description = describe(
  "ocidist: pull, push, copy and inspect OCI images and artifacts in registries, OCI layouts and archives. " +
    "Run `ocidist <command> --help` for a command's options and examples.\n\n" +
    "Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 authentication, 5 digest/verification, 130 interrupted.",
  [
    "ocidist pull alpine:3.20 ./alpine",
    "ocidist copy -r ghcr.io/org/app:1.0 localhost:5000/app:1.0",
    "ocidist digest alpine:3.20",
    "ocidist tags --json localhost:5000/app",
    "echo \"$PASSWORD\" | ocidist login registry.example.com -u me --password-stdin"
  ]
)

const missingCommand = () =>
  Effect.fail(new UsageError({ detail: "missing command: run `ocidist --help` for the list of commands" }))

const script = (shell: "bash" | "zsh" | "fish"): Effect.Effect<Array<string>> =>
  shell === "bash"
    ? Command.getBashCompletions(root, "ocidist")
    : shell === "zsh"
    ? Command.getZshCompletions(root, "ocidist")
    : Command.getFishCompletions(root, "ocidist")

/**
 * @since 0.1.0
 * @category commands
 */
export const root = base.pipe(
  Command.withHandler(missingCommand),
  Command.withDescription(description),
  Command.withSubcommands([...subcommands, Misc.completion(script)])
)

/**
 * @since 0.1.0
 * @category commands
 */
export const run = (argv: ReadonlyArray<string>) => Command.run(root, { name: "ocidist", version })(argv)
