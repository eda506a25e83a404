/**
 * `tags` / `ls`, `catalog`, `tag`, `delete`, `referrers`.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { describe, withOps } from "../internal/lazy.js"

const tagsConfig = {
  repository: Args.text({ name: "repository" }).pipe(
    Args.withDescription("[registry/]repository, or a local layout (oci:<dir>) or archive")
  ),
  omitDigestTags: Options.boolean("omit-digest-tags").pipe(
    Options.withDescription("leave out sha256-<hex> tags (referrers fallback, signatures)")
  )
}

const tagsDescription = describe("List the tags of a repository (all pages).", [
  "ocidist tags localhost:5000/app",
  "ocidist ls --omit-digest-tags ghcr.io/org/app",
  "ocidist tags --json oci:./images"
])

/**
 * @since 0.1.0
 * @category commands
 */
export const tags = Command.make("tags", tagsConfig, (args) => withOps((ops, globals) => ops.tags(globals, args))).pipe(
  Command.withDescription(tagsDescription)
)

/**
 * @since 0.1.0
 * @category commands
 */
export const ls = Command.make("ls", tagsConfig, (args) => withOps((ops, globals) => ops.tags(globals, args))).pipe(
  Command.withDescription("Alias of tags.\n\n" + tagsDescription)
)

/**
 * @since 0.1.0
 * @category commands
 */
export const catalog = Command.make(
  "catalog",
  { registry: Args.text({ name: "registry" }).pipe(Args.withDescription("a registry host, e.g. localhost:5000")) },
  (args) => withOps((ops, globals) => ops.catalog(globals, args))
).pipe(Command.withDescription(describe(
  "List the repositories of a registry (the _catalog API; many public registries do not offer it).",
  ["ocidist catalog localhost:5000", "ocidist catalog --json localhost:5000 | jq -r '.repositories[]'"]
)))

/**
 * @since 0.1.0
 * @category commands
 */
export const tag = Command.make(
  "tag",
  {
    reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the manifest to tag")),
    tag: Args.text({ name: "new-tag" }).pipe(Args.withDescription("the new tag (same repository)"))
  },
  (args) => withOps((ops, globals) => ops.tag(globals, args))
).pipe(Command.withDescription(describe(
  "Add a tag to a manifest in the same repository (the manifest is re-uploaded under the tag; no blob moves).",
  ["ocidist tag localhost:5000/app:1.0 latest", "ocidist tag localhost:5000/app@sha256:… stable"]
)))

/**
 * @since 0.1.0
 * @category commands
 */
export const remove = Command.make(
  "delete",
  { reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the manifest to delete (tag or digest)")) },
  (args) => withOps((ops, globals) => ops.remove(globals, args))
).pipe(Command.withDescription(describe(
  "Delete a manifest. A tag is resolved to its digest first, and the manifest is deleted by digest: every tag " +
    "pointing at it goes too. The registry must allow deletes.",
  ["ocidist delete localhost:5000/app:old", "ocidist delete localhost:5000/app@sha256:…"]
)))

/**
 * @since 0.1.0
 * @category commands
 */
export const referrers = Command.make(
  "referrers",
  {
    reference: Args.text({ name: "location" }).pipe(
      Args.withDescription("the subject: a registry reference or a layout")
    ),
    artifactType: Options.text("artifact-type").pipe(
      Options.withDescription("only referrers with this artifactType (first level)"),
      Options.optional
    )
  },
  (args) => withOps((ops, globals) => ops.referrers(globals, args))
).pipe(Command.withDescription(describe(
  "Show the manifests that refer to an image (signatures, SBOMs, attestations) as a tree, with their own " +
    "referrers (4 levels). Uses the referrers API, or the sha256-<hex> tag where the registry lacks it.",
  [
    "ocidist referrers localhost:5000/app:1.0",
    "ocidist referrers --artifact-type application/vnd.example.sbom localhost:5000/app:1.0",
    "ocidist referrers --json localhost:5000/app@sha256:…"
  ]
)))
