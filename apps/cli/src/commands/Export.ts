/**
 * `export`, `flatten`: an image's merged filesystem, as a tar or as a one-layer image (crane's).
 *
 * @since 0.5.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { describe, withOps } from "../internal/lazy.js"

const source = Args.text({ name: "source" }).pipe(
  Args.withDescription("the image: a registry reference, oci:<dir>[:tag], oci-archive:<file>, docker-archive:<file>")
)

/**
 * @since 0.5.0
 * @category commands
 */
export const exportCommand = Command.make(
  "export",
  {
    source,
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.withPseudoName("FILE|-"),
      Options.withDescription("the tar to write (written to FILE.partial-<pid>, then renamed); - or none: stdout"),
      Options.optional
    )
  },
  (args) => withOps((ops, globals) => ops.exportImage(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Write an image's filesystem (layers merged, whiteouts applied) as a tar",
  details: "Like crane export: hard links, symlinks, devices, modes and owners kept as tar entries; a path " +
    "climbing out of the root with .. fails, entries below a symlink are left out. An index: the --platform " +
    "image (default: this machine's).",
  examples: [
    "ocidist export localhost:5000/app:1 -o rootfs.tar",
    "ocidist export --platform linux/arm64 oci:./images:app | tar -t",
    "ocidist export docker-archive:app.tar -o -"
  ]
})))

/**
 * @since 0.5.0
 * @category commands
 */
export const flatten = Command.make(
  "flatten",
  {
    source,
    tag: Options.text("tag").pipe(
      Options.withAlias("t"),
      Options.withPseudoName("DESTINATION"),
      Options.withDescription("where to write the result (default: the source itself, its tag moved)"),
      Options.optional
    )
  },
  (args) => withOps((ops, globals) => ops.flatten(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Squash an image's layers into one, and print the new digest",
  details: "The merged filesystem (as export writes it) becomes one gzip layer; the config's rootfs and " +
    "history name that layer only. An index: every image flattened and a new index written (its digest " +
    "printed, then one line per image: digest and platform; attestations left out, as crane does); with " +
    "--platform, that image only.",
  examples: [
    "ocidist flatten localhost:5000/app:1 -t localhost:5000/app:1-flat",
    "ocidist flatten --json oci:./images:app",
    "ocidist flatten --platform linux/amd64 localhost:5000/multi:1 -t oci:./flat:1"
  ]
})))
