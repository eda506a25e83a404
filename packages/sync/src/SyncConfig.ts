/**
 * The sync configuration file: which repositories (or whole namespaces) to mirror where, which tags, and
 * how to talk to each registry. Parsed from YAML and validated with Schema; every mistake is reported at
 * its `file:line:column`. The model is encodable (plain objects and strings) so it travels in workflow
 * payloads; `source` and `target` are normalized when decoded (`alpine` → `docker.io/library/alpine`).
 *
 * ```yaml
 * defaults: { concurrency: 4, referrers: true, platforms: [linux/amd64, linux/arm64] }
 * registries:
 *   docker.io: { ratelimit: { pulls: 100, per: 6h }, credentials: docker-config }
 *   mirror.local:5000: { tls: false }
 * sync:
 *   - source: docker.io/library/alpine
 *     target: mirror.local:5000/library/alpine
 *     tags: { allow: ["^3\\.2[0-9]$", "latest"], deny: ["-rc"], semver: ">=3.19" }
 *   - source: ghcr.io/org
 *     target: mirror.local:5000/org
 *     type: registry
 * ```
 *
 * @since 0.5.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Registry from "@ocidist/reference/Registry"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import semver from "semver"
import { LineCounter, parseDocument } from "yaml"
import * as internal from "./internal/config.js"
import { SyncConfigError } from "./SyncError.js"

// ---------------------------------------------------------------------------------------------------------
// Registries
// ---------------------------------------------------------------------------------------------------------

const PositiveInt = Schema.Number.pipe(
  Schema.filter((n) => (Number.isSafeInteger(n) && n >= 1) || `must be a whole number of at least 1, got ${n}`)
)

/**
 * A duration: a number and a unit (`s`, `m`, `h`, `d`), possibly several (`1h30m`).
 *
 * @since 0.5.0
 * @category schemas
 */
export const Duration = Schema.String.pipe(
  Schema.filter((s) =>
    internal.durationMillis(s) !== undefined ||
    `invalid duration "${s}": expected a number and a unit s, m, h or d (90s, 30m, 6h, 1d, 1h30m)`
  )
).annotations({ identifier: "Duration" })

/**
 * A pull budget: at most `pulls` manifest GETs per window of `per` (HEADs are free).
 *
 * @since 0.5.0
 * @category schemas
 */
export const RateLimit = Schema.Struct({ pulls: PositiveInt, per: Duration })

/**
 * @since 0.5.0
 * @category models
 */
export interface RateLimit extends Schema.Schema.Type<typeof RateLimit> {}

/**
 * The length of a rate-limit window in milliseconds.
 *
 * @since 0.5.0
 * @category accessors
 */
export const perMillis = (ratelimit: RateLimit): number => internal.durationMillis(ratelimit.per) ?? 0

/**
 * Credentials of a registry: `docker-config` (the Docker config file and its credential helpers, as the
 * other commands do), or a user name with `passwordEnv`, the environment variable holding its password (read
 * where the registry clients are built, never stored: an inline `password` is refused, runs are journaled).
 *
 * @since 0.5.0
 * @category schemas
 */
export const Credentials = Schema.Union(
  Schema.Literal("docker-config"),
  Schema.Struct({
    username: Schema.String.pipe(Schema.filter((s) => s.length > 0 || "username must not be empty")),
    password: Schema.optionalWith(Schema.String, { exact: true }),
    passwordEnv: Schema.optionalWith(Schema.String, { exact: true })
  }).annotations({ title: "{ username, passwordEnv }" }).pipe(
    Schema.filter((c) =>
      c.password !== undefined
        ? "a password is not written in the configuration (it would be journaled in the sync state): give " +
          "passwordEnv, the name of an environment variable holding it"
        : c.passwordEnv !== undefined || "give passwordEnv (the name of an environment variable holding the password)"
    )
  ).annotations({ title: "{ username, passwordEnv }" })
)

/**
 * @since 0.5.0
 * @category models
 */
export type Credentials = typeof Credentials.Type

/**
 * How to talk to one registry. `tls`: `true` (the default) HTTPS with verified certificates, `false` plain
 * HTTP, `"insecure"` HTTPS without verifying the certificate.
 *
 * @since 0.5.0
 * @category schemas
 */
export const RegistryConfig = Schema.Struct({
  tls: Schema.optionalWith(Schema.Union(Schema.Boolean, Schema.Literal("insecure")), { exact: true }),
  ratelimit: Schema.optionalWith(RateLimit, { exact: true }),
  credentials: Schema.optionalWith(Credentials, { exact: true })
})

/**
 * @since 0.5.0
 * @category models
 */
export interface RegistryConfig extends Schema.Schema.Type<typeof RegistryConfig> {}

const RegistryHost = Schema.String.pipe(Schema.filter((key) => internal.isHost(key) || internal.notAHost(key)))

// ---------------------------------------------------------------------------------------------------------
// Tags, platforms, defaults
// ---------------------------------------------------------------------------------------------------------

const Regex = Schema.String.pipe(Schema.filter((s) => internal.regexProblem(s) ?? true))

const SemverRange = Schema.String.pipe(
  Schema.filter((s) =>
    (s.trim().length > 0 && semver.validRange(s) !== null) ||
    `invalid semver range "${s}" (examples: ">=3.19", "^1.2", "~2.4.0", ">=1.0 <2.0")`
  )
)

/**
 * Which tags of a repository to copy: see the `TagFilter` module for the rules.
 *
 * @since 0.5.0
 * @category schemas
 */
export const TagRule = Schema.Struct({
  allow: Schema.optionalWith(Schema.Array(Regex), { exact: true }),
  deny: Schema.optionalWith(Schema.Array(Regex), { exact: true }),
  semver: Schema.optionalWith(SemverRange, { exact: true })
})

/**
 * @since 0.5.0
 * @category models
 */
export interface TagRule extends Schema.Schema.Type<typeof TagRule> {}

const Platform = Schema.String.pipe(
  Schema.filter((s) =>
    internal.platformPattern.test(s) || `invalid platform "${s}": expected os/arch[/variant], e.g. linux/arm64`
  )
)

/**
 * Platforms to copy from multi-platform images (`os/arch[/variant]`); at least one.
 *
 * @since 0.5.0
 * @category schemas
 */
export const Platforms = Schema.Array(Platform).pipe(
  Schema.filter((list) => list.length > 0 || "list at least one platform (leave the key out to copy every platform)")
)

const Concurrency = Schema.Number.pipe(
  Schema.filter((n) => (Number.isInteger(n) && n >= 1 && n <= 64) || `must be a whole number from 1 to 64, got ${n}`)
)

/**
 * Settings of every entry unless the entry sets its own: `concurrency` (repositories copied at once, 1..64,
 * default 4), `referrers` (copy signatures, SBOMs and other referrers too, default false), `platforms`
 * (default: every platform), `prune` (delete target tags the source no longer has, default false).
 *
 * @since 0.5.0
 * @category schemas
 */
export const Defaults = Schema.Struct({
  concurrency: Schema.optionalWith(Concurrency, { exact: true, default: () => 4 }),
  referrers: Schema.optionalWith(Schema.Boolean, { exact: true, default: () => false }),
  platforms: Schema.optionalWith(Platforms, { exact: true }),
  prune: Schema.optionalWith(Schema.Boolean, { exact: true, default: () => false })
})

/**
 * @since 0.5.0
 * @category models
 */
export interface Defaults extends Schema.Schema.Type<typeof Defaults> {}

// ---------------------------------------------------------------------------------------------------------
// Entries
// ---------------------------------------------------------------------------------------------------------

const Locator = Schema.String.pipe(Schema.filter((s) => internal.checkLocator(s) ?? true))

const EntryFields = Schema.Struct({
  source: Locator,
  target: Locator,
  type: Schema.optionalWith(Schema.Literal("repository", "registry"), { exact: true, default: () => "repository" }),
  tags: Schema.optionalWith(TagRule, { exact: true }),
  platforms: Schema.optionalWith(Platforms, { exact: true }),
  referrers: Schema.optionalWith(Schema.Boolean, { exact: true }),
  prune: Schema.optionalWith(Schema.Boolean, { exact: true })
})

/**
 * One thing to mirror. `type: repository` (the default): `source` and `target` are repositories (no tag,
 * no digest; tags are chosen with `tags`). `type: registry`: `source` is a registry host (`ghcr.io`) or a
 * namespace (`ghcr.io/org`) whose repositories are listed through the catalog, and each is mirrored under
 * `target` (a host or namespace) with the same path below the namespace. Decoding normalizes both to
 * `registry/path` (`alpine` → `docker.io/library/alpine`; `index.docker.io` → `docker.io`).
 *
 * @since 0.5.0
 * @category schemas
 */
export const Entry = Schema.transformOrFail(EntryFields, Schema.typeSchema(EntryFields), {
  strict: true,
  decode: (entry, _options, ast) => {
    const source = internal.normalizeLocator(entry.source, entry.type)
    const target = internal.normalizeLocator(entry.target, entry.type)
    const issues: Array<ParseResult.ParseIssue> = []
    if (Either.isLeft(source)) {
      issues.push(new ParseResult.Pointer("source", entry, new ParseResult.Type(ast, entry.source, source.left)))
    }
    if (Either.isLeft(target)) {
      issues.push(new ParseResult.Pointer("target", entry, new ParseResult.Type(ast, entry.target, target.left)))
    }
    if (Either.isRight(source) && Either.isRight(target) && source.right === target.right) {
      issues.push(
        new ParseResult.Pointer(
          "target",
          entry,
          new ParseResult.Type(ast, entry.target, `the target is the source (${source.right})`)
        )
      )
    }
    if (issues.length > 0) {
      return ParseResult.fail(
        issues.length === 1 ? issues[0]! : new ParseResult.Composite(ast, entry, issues as [ParseResult.ParseIssue])
      )
    }
    return ParseResult.succeed({
      ...entry,
      source: Either.getOrThrow(source),
      target: Either.getOrThrow(target)
    })
  },
  encode: ParseResult.succeed
}).annotations({ identifier: "Entry" })

/**
 * @since 0.5.0
 * @category models
 */
export type Entry = typeof Entry.Type

// ---------------------------------------------------------------------------------------------------------
// The file
// ---------------------------------------------------------------------------------------------------------

/**
 * A whole configuration file. `defaults` and `registries` may be left out; `sync` lists at least one entry.
 *
 * @since 0.5.0
 * @category schemas
 */
export const SyncConfig = Schema.Struct({
  defaults: Schema.optionalWith(Defaults, {
    exact: true,
    default: () => ({ concurrency: 4, referrers: false, prune: false })
  }),
  registries: Schema.optionalWith(Schema.Record({ key: RegistryHost, value: RegistryConfig }), {
    exact: true,
    default: () => ({})
  }),
  sync: Schema.Array(Entry).pipe(
    Schema.filter((entries) => entries.length > 0 || "list at least one entry (source, target) to sync")
  )
}).annotations({ identifier: "SyncConfig" })

/**
 * @since 0.5.0
 * @category models
 */
export interface SyncConfig extends Schema.Schema.Type<typeof SyncConfig> {}

/**
 * An entry with the defaults applied: what one `SyncRun` works with.
 *
 * @since 0.5.0
 * @category schemas
 */
export const EffectiveEntry = Schema.Struct({
  source: Schema.String,
  target: Schema.String,
  type: Schema.Literal("repository", "registry"),
  tags: Schema.optionalWith(TagRule, { exact: true }),
  platforms: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  referrers: Schema.Boolean,
  prune: Schema.Boolean,
  concurrency: Schema.Number
})

/**
 * @since 0.5.0
 * @category models
 */
export interface EffectiveEntry extends Schema.Schema.Type<typeof EffectiveEntry> {}

/**
 * The entry with the defaults applied: its own `platforms`, `referrers` and `prune` when set, else the
 * defaults'; `concurrency` is the defaults'.
 *
 * @since 0.5.0
 * @category accessors
 */
export const effective = (config: SyncConfig, entry: Entry): EffectiveEntry => {
  const platforms = entry.platforms ?? config.defaults.platforms
  return {
    source: entry.source,
    target: entry.target,
    type: entry.type,
    ...(entry.tags === undefined ? {} : { tags: entry.tags }),
    ...(platforms === undefined ? {} : { platforms }),
    referrers: entry.referrers ?? config.defaults.referrers,
    prune: entry.prune ?? config.defaults.prune,
    concurrency: config.defaults.concurrency
  }
}

/**
 * The settings of a registry (`docker.io`, `mirror.local:5000`), matched as the registry names the
 * references do (`index.docker.io` is `docker.io`).
 *
 * @since 0.5.0
 * @category accessors
 */
export const registryConfig = (config: SyncConfig, registry: string): RegistryConfig | undefined => {
  const key = Object.keys(config.registries).find((k) => Registry.same(k, registry))
  return key === undefined ? undefined : config.registries[key]
}

/**
 * Splits a normalized `registry`-type `source` or `target` into its registry host and namespace
 * (`undefined` for a whole registry): `ghcr.io/org` → `{ registry: "ghcr.io", namespace: "org" }`.
 *
 * @since 0.5.0
 * @category accessors
 */
export const splitNamespace: (
  locator: string
) => { readonly registry: string; readonly namespace: string | undefined } = internal.splitNamespace

/**
 * The target repository of a source repository (`registry/path`) under an entry: the entry's target for a
 * `repository` entry; for a `registry` entry, the path below the source namespace appended to the target
 * (`ghcr.io/org/a/b` under `ghcr.io/org` → `mirror.local:5000/org` → `mirror.local:5000/org/a/b`).
 * `undefined` when the repository is not under the entry's source.
 *
 * @since 0.5.0
 * @category accessors
 */
export const targetOf = (entry: Entry, sourceRepository: string): string | undefined => {
  if (entry.type === "repository") return sourceRepository === entry.source ? entry.target : undefined
  const prefix = `${entry.source}/`
  return sourceRepository.startsWith(prefix) ? `${entry.target}/${sourceRepository.slice(prefix.length)}` : undefined
}

// ---------------------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------------------

const decode = Schema.decodeUnknownEither(SyncConfig, { errors: "all", onExcessProperty: "error" })

const problem = (file: string, line: number, column: number, message: string) =>
  new SyncConfigError({ file, problems: [{ line, column, path: "", message }] })

/**
 * Parses and validates a configuration. YAML syntax errors and every mismatch with the model fail with one
 * `SyncConfigError` listing each problem at `file:line:column` (`file` only names the text in messages).
 *
 * @since 0.5.0
 * @category parsing
 */
export const parse = (text: string, file: string = "<config>"): Effect.Effect<SyncConfig, SyncConfigError> =>
  Effect.suspend(() => {
    const lineCounter = new LineCounter()
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
    if (doc.errors.length > 0) {
      return Effect.fail(
        new SyncConfigError({
          file,
          problems: internal.sortProblems(doc.errors.map((error) => {
            const { col, line } = lineCounter.linePos(error.pos[0])
            const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")
            return { line, column: col, path: "", message: `YAML: ${message}` }
          }))
        })
      )
    }
    if (doc.contents === null) {
      return Effect.fail(problem(file, 1, 1, "the file is empty: expected the keys sync (and defaults, registries)"))
    }
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: 1000 })
    } catch (error) {
      return Effect.fail(problem(file, 1, 1, `YAML: ${error instanceof Error ? error.message : String(error)}`))
    }
    return Either.match(decode(value), {
      onLeft: (error) =>
        Effect.fail(new SyncConfigError({ file, problems: internal.problems(doc, lineCounter, error) })),
      onRight: Effect.succeed
    })
  })

/**
 * Reads and parses a configuration file. A file that cannot be read fails with a `SyncConfigError` naming
 * it.
 *
 * @since 0.5.0
 * @category parsing
 */
export const load = (path: string): Effect.Effect<SyncConfig, SyncConfigError, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(path)).pipe(
    Effect.catchAll((error) =>
      Effect.fail(
        problem(
          path,
          0,
          0,
          error._tag === "SystemError" && error.reason === "NotFound"
            ? "cannot read the configuration: no such file"
            : `cannot read the configuration: ${error.message}`
        )
      )
    ),
    Effect.flatMap((text) => parse(text, path))
  )
