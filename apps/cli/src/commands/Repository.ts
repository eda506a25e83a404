/**
 * `tags` / `ls`, `catalog`, `tag`, `delete`, `untag`, `referrers`.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { UsageError } from "../CliError.js"
import { format } from "../internal/formatOption.js"
import { describe, withOps } from "../internal/lazy.js"

const tagsConfig = {
  repository: Args.text({ name: "repository" }).pipe(
    Args.withDescription("[registry/]repository, or a local layout (oci:<dir>) or archive")
  ),
  omitDigestTags: Options.boolean("omit-digest-tags").pipe(
    Options.withDescription("leave out sha256-<hex> tags (referrers fallback, signatures)")
  ),
  format
}

const tagsHelp = {
  summary: "List the tags of a repository, a layout or an archive",
  examples: [
    "ocidist tags localhost:5000/app",
    "ocidist ls --omit-digest-tags ghcr.io/org/app",
    "ocidist tags --json oci:./images",
    "ocidist tags --format '{{range .Tags}}{{println .}}{{end}}' localhost:5000/app"
  ]
}

/**
 * @since 0.1.0
 * @category commands
 */
export const tags = Command.make("tags", tagsConfig, (args) => withOps((ops, globals) => ops.tags(globals, args))).pipe(
  Command.withDescription(describe(tagsHelp))
)

/**
 * @since 0.1.0
 * @category commands
 */
export const ls = Command.make("ls", tagsConfig, (args) => withOps((ops, globals) => ops.tags(globals, args))).pipe(
  Command.withDescription(describe({ ...tagsHelp, aliasOf: "tags" }))
)

/**
 * Why `catalog` cannot list what it was given (checked before any request), if it cannot: it needs a registry
 * host (`host[:port]`, optionally `https://…`), not a local location nor a repository.
 */
const catalogProblem = (input: string): string | undefined => {
  const text = input.trim()
  const local = /^(oci|oci-archive|docker-archive):/.exec(text)?.[1]
  if (local !== undefined) {
    return `catalog needs a registry (host[:port], e.g. localhost:5000), not the ${local} location ${text}; ` +
      `for its tags: ocidist tags ${text}`
  }
  const host = text.replace(/^(https?|docker):\/\//, "").replace(/\/+$/, "")
  return /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host)
    ? undefined
    : `catalog needs a registry host (host[:port], e.g. localhost:5000), got ${JSON.stringify(text)}`
}

/**
 * @since 0.1.0
 * @category commands
 */
export const catalog = Command.make(
  "catalog",
  { registry: Args.text({ name: "registry" }).pipe(Args.withDescription("a registry host, e.g. localhost:5000")) },
  (args) => {
    const problem = catalogProblem(args.registry)
    return problem === undefined
      ? withOps((ops, globals) => ops.catalog(globals, args))
      : Effect.fail(new UsageError({ detail: problem }))
  }
).pipe(Command.withDescription(describe({
  summary: "List the repositories of a registry",
  details: "Uses the _catalog API, which many public registries do not offer.",
  examples: ["ocidist catalog localhost:5000", "ocidist catalog --json localhost:5000 | jq -r '.repositories[]'"]
})))

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
).pipe(Command.withDescription(describe({
  summary: "Add a tag to a manifest in the same repository",
  details: "The manifest is uploaded again under the tag; no blob moves.",
  examples: ["ocidist tag localhost:5000/app:1.0 latest", "ocidist tag localhost:5000/app@sha256:… stable"]
})))

/**
 * @since 0.1.0
 * @category commands
 */
export const remove = Command.make(
  "delete",
  {
    reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the manifest to delete (tag or digest)")),
    force: Options.boolean("force").pipe(
      Options.withDescription("delete even when other tags point at the manifest (they go too)")
    )
  },
  (args) => withOps((ops, globals) => ops.remove(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Delete a manifest, and with it every tag pointing at it",
  details: "A tag is resolved to its digest first, so a tag that shares its digest with other tags needs " +
    "--force (to remove just the tag, use untag). The registry must allow deletes.",
  examples: [
    "ocidist delete localhost:5000/app:old",
    "ocidist delete --force localhost:5000/app:old",
    "ocidist delete localhost:5000/app@sha256:…"
  ]
})))

/**
 * @since 0.4.0
 * @category commands
 */
export const untag = Command.make(
  "untag",
  { reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the tag to remove (repo:tag)")) },
  (args) => withOps((ops, globals) => ops.untag(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Remove a tag, leaving the manifest and its other tags",
  details: "Uses the registry's tag DELETE (some registries, distribution 2.x among them, refuse it). In a " +
    "layout (oci:<dir>:<tag>), removes the tag's index.json entry.",
  examples: ["ocidist untag localhost:5000/app:old", "ocidist untag oci:./images:old"]
})))

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
    ),
    format
  },
  (args) => withOps((ops, globals) => ops.referrers(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Show an image's signatures, SBOMs and attestations as a tree",
  details: "The manifests that refer to the image, with their own referrers (4 levels). Uses the referrers " +
    "API, or the sha256-<hex> tag where the registry lacks it.",
  examples: [
    "ocidist referrers localhost:5000/app:1.0",
    "ocidist referrers --artifact-type application/vnd.example.sbom localhost:5000/app:1.0",
    "ocidist referrers --json localhost:5000/app@sha256:…",
    "ocidist referrers --format '{{range .Referrers}}{{.ArtifactType}} {{.Digest}}{{println}}{{end}}' localhost:5000/app:1.0"
  ]
})))
