/**
 * The `ocidist` command tree.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import { UsageError } from "./CliError.js"
import * as Artifact from "./commands/Artifact.js"
import * as Auth from "./commands/Auth.js"
import * as Export from "./commands/Export.js"
import * as ImageIndex from "./commands/ImageIndex.js"
import * as Manifest from "./commands/Manifest.js"
import * as Misc from "./commands/Misc.js"
import * as Mutate from "./commands/Mutate.js"
import * as Ref from "./commands/Ref.js"
import * as Repository from "./commands/Repository.js"
import * as Sync from "./commands/Sync.js"
import * as Transfer from "./commands/Transfer.js"
import * as Validate from "./commands/Validate.js"
import { rejectPlatform, root as base } from "./GlobalOptions.js"
import { describe } from "./internal/lazy.js"
import { version } from "./Version.js"

// --platform applies to the commands that read a manifest; it is a usage error for the others
const subcommands = [
  Transfer.pull,
  Transfer.push,
  Transfer.copy,
  Transfer.cp,
  Manifest.manifest.pipe(rejectPlatform("manifest", ["put"])),
  Manifest.digest,
  Manifest.config,
  Manifest.blob.pipe(rejectPlatform("blob")),
  Manifest.inspect,
  Repository.tags.pipe(rejectPlatform("tags")),
  Repository.ls.pipe(rejectPlatform("ls")),
  Repository.catalog.pipe(rejectPlatform("catalog")),
  Repository.tag.pipe(rejectPlatform("tag")),
  Repository.remove.pipe(rejectPlatform("delete")),
  Repository.untag.pipe(rejectPlatform("untag")),
  Repository.referrers,
  Artifact.artifact.pipe(rejectPlatform("artifact", ["push"])),
  Artifact.attach.pipe(rejectPlatform("attach")),
  Artifact.discover,
  Auth.login.pipe(rejectPlatform("login")),
  Auth.logout.pipe(rejectPlatform("logout")),
  Auth.auth.pipe(rejectPlatform("auth")),
  Ref.command.pipe(rejectPlatform("ref")),
  Misc.registry.pipe(rejectPlatform("registry")),
  Misc.cache.pipe(rejectPlatform("cache")),
  Misc.version.pipe(rejectPlatform("version")),
  ImageIndex.index.pipe(rejectPlatform("index", ["create", "append", "annotate"])),
  Validate.validate.pipe(rejectPlatform("validate")),
  Mutate.mutate,
  Mutate.append,
  Export.exportCommand,
  Export.flatten,
  Sync.sync.pipe(rejectPlatform("sync"))
] as const

const description = describe({
  summary: "Pull, push, copy and inspect OCI images in registries, layouts and archives",
  details: "Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 authentication, 5 digest/verification, " +
    "130 interrupted.",
  examples: [
    "ocidist pull alpine:3.20 ./alpine",
    "ocidist copy -r ghcr.io/org/app:1.0 localhost:5000/app:1.0",
    "ocidist tags --json localhost:5000/app",
    "echo \"$PASSWORD\" | ocidist login registry.example.com -u me --password-stdin"
  ]
})

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
  Command.withSubcommands([...subcommands, Misc.completion(script).pipe(rejectPlatform("completion"))])
)

/**
 * @since 0.1.0
 * @category commands
 */
export const run = (argv: ReadonlyArray<string>) => Command.run(root, { name: "ocidist", version })(argv)
