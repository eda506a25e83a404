/**
 * The `ocidist` command tree.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Ref from "./commands/Ref.js"
import { version } from "./Version.js"

const versionCommand = Command.make("version", {}, () => Console.log(`ocidist ${version}`)).pipe(
  Command.withDescription("Print the version")
)

/**
 * @since 0.1.0
 * @category commands
 */
export const root = Command.make("ocidist").pipe(
  Command.withDescription("ocidist: pull, push, copy and inspect OCI images and artifacts"),
  Command.withSubcommands([Ref.command, versionCommand])
)

/**
 * @since 0.1.0
 * @category commands
 */
export const run = Command.run(root, { name: "ocidist", version })
