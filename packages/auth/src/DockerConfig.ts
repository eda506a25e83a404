/**
 * Docker's `config.json` and podman's `auth.json`: where they are, reading the credential parts
 * (`auths`, `credHelpers`, `credsStore`), finding the entry for a registry, and rewriting the file
 * atomically (temp file + rename, mode 0600) while keeping every other key.
 *
 * Key matching: every Docker Hub spelling (`https://index.docker.io/v1/`, `index.docker.io`, `docker.io`,
 * `registry-1.docker.io`) matches Docker Hub; other keys match the registry host (with its port), with or
 * without a scheme and path. In podman files a key with a path but no scheme names a namespace
 * (`quay.io/org`) and is not used for a whole registry.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Registry from "@ocidist/reference/Registry"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { CredentialStoreError } from "./AuthError.js"

/**
 * One entry of `auths`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthEntry {
  /** base64 of `username:password`. */
  readonly auth?: string
  readonly username?: string
  readonly password?: string
  /** An OAuth2 refresh token (`docker login` with an identity provider). */
  readonly identitytoken?: string
  /** A bearer token to send as is. */
  readonly registrytoken?: string
  readonly email?: string
}

/**
 * The credential parts of a config file, plus the whole parsed document (kept when rewriting).
 *
 * @since 0.1.0
 * @category models
 */
export interface ConfigFile {
  readonly path: string
  readonly auths: Readonly<Record<string, AuthEntry>>
  readonly credHelpers: Readonly<Record<string, string>>
  readonly credsStore?: string
  readonly document: Readonly<Record<string, unknown>>
}

/**
 * Which key conventions a file follows.
 *
 * @since 0.1.0
 * @category models
 */
export type Flavor = "docker" | "podman"

const OptionalString = Schema.optionalWith(Schema.String, { exact: true })
const AuthEntrySchema = Schema.Struct({
  auth: OptionalString,
  username: OptionalString,
  password: OptionalString,
  identitytoken: OptionalString,
  registrytoken: OptionalString,
  email: OptionalString
})
const ConfigSchema = Schema.Struct({
  auths: Schema.optional(Schema.Record({ key: Schema.String, value: AuthEntrySchema })),
  credHelpers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  credsStore: OptionalString
})

const optionalEnv = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Effect.map(Option.filter((value) => value.length > 0)),
    Effect.orElseSucceed(() => Option.none<string>())
  )

/**
 * `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`. `None` when neither variable is set.
 *
 * @since 0.1.0
 * @category paths
 */
export const dockerConfigPath: Effect.Effect<Option.Option<string>, never, Path.Path> = Effect.gen(function*() {
  const path = yield* Path.Path
  const dir = yield* optionalEnv("DOCKER_CONFIG")
  if (Option.isSome(dir)) return Option.some(path.join(dir.value, "config.json"))
  const home = yield* optionalEnv("HOME")
  return Option.map(home, (h) => path.join(h, ".docker", "config.json"))
})

/**
 * Podman's auth files, in the order containers/image reads them: `$REGISTRY_AUTH_FILE` alone when set,
 * else `$XDG_RUNTIME_DIR/containers/auth.json` then `$XDG_CONFIG_HOME/containers/auth.json`
 * (`$HOME/.config/containers/auth.json`).
 *
 * @since 0.1.0
 * @category paths
 */
export const podmanAuthPaths: Effect.Effect<ReadonlyArray<string>, never, Path.Path> = Effect.gen(function*() {
  const path = yield* Path.Path
  const explicit = yield* optionalEnv("REGISTRY_AUTH_FILE")
  if (Option.isSome(explicit)) return [explicit.value]
  const paths: Array<string> = []
  const runtime = yield* optionalEnv("XDG_RUNTIME_DIR")
  if (Option.isSome(runtime)) paths.push(path.join(runtime.value, "containers", "auth.json"))
  const configHome = yield* optionalEnv("XDG_CONFIG_HOME")
  const home = yield* optionalEnv("HOME")
  const base = Option.isSome(configHome)
    ? Option.some(configHome.value)
    : Option.map(home, (h) => path.join(h, ".config"))
  if (Option.isSome(base)) paths.push(path.join(base.value, "containers", "auth.json"))
  return paths
})

const Document = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
const decodeDocument = Schema.decodeUnknownEither(Document)
const decodeConfig = Schema.decodeUnknownEither(ConfigSchema)

/**
 * Parses a config document. Fails with a reason (never the content, nor a parse error quoting it) when it is
 * not a JSON object or its credential keys have the wrong types.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (path: string, text: string): Either.Either<ConfigFile, CredentialStoreError> => {
  const fail = (reason: string) => Either.left(new CredentialStoreError({ path, operation: "read", reason }))
  const parsed = text.trim().length === 0 ? Either.right({}) : decodeDocument(text)
  if (Either.isLeft(parsed)) {
    const issue = parsed.left.issue
    return fail(issue._tag === "Transformation" && issue.kind === "Encoded" ? "not valid JSON" : "not a JSON object")
  }
  const document = parsed.right
  const decoded = decodeConfig(document)
  if (Either.isLeft(decoded)) return fail("auths, credHelpers or credsStore has an unexpected type")
  const { auths, credHelpers, credsStore } = decoded.right
  return Either.right({
    path,
    auths: auths ?? {},
    credHelpers: credHelpers ?? {},
    ...(credsStore === undefined || credsStore.length === 0 ? {} : { credsStore }),
    document
  })
}

/**
 * Reads a config file. `None` when it does not exist.
 *
 * @since 0.1.0
 * @category reading
 */
export const read = (
  path: string
): Effect.Effect<Option.Option<ConfigFile>, CredentialStoreError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(path).pipe(
      Effect.map(Option.some),
      Effect.catchIf(
        (e) => e._tag === "SystemError" && e.reason === "NotFound",
        () => Effect.succeed(Option.none<string>())
      ),
      Effect.mapError((e) =>
        new CredentialStoreError({
          path,
          operation: "read",
          reason: e._tag === "SystemError" ? e.reason : "unreadable",
          cause: e
        })
      )
    )
    if (Option.isNone(text)) return Option.none()
    return Option.some(yield* parse(path, text.value))
  })

/**
 * The host a config key designates, or `None` for a podman namespace key (`quay.io/org`).
 *
 * @since 0.1.0
 * @category matching
 */
export const keyHost = (key: string, flavor: Flavor): Option.Option<string> => {
  const trimmed = key.trim()
  if (trimmed.length === 0) return Option.none()
  if (flavor === "podman" && !trimmed.includes("://") && trimmed.includes("/")) return Option.none()
  return Option.some(Registry.canonical(trimmed))
}

/**
 * Whether a config key designates `registry`.
 *
 * @since 0.1.0
 * @category matching
 */
export const keyMatches = (key: string, registry: string, flavor: Flavor): boolean =>
  Option.match(keyHost(key, flavor), { onNone: () => false, onSome: (host) => host === Registry.canonical(registry) })

/**
 * The keys of `record` that designate `registry`: the exact credential key first, then the others in
 * file order.
 *
 * @since 0.1.0
 * @category matching
 */
export const matchingKeys = (
  record: Readonly<Record<string, unknown>>,
  registry: string,
  flavor: Flavor
): ReadonlyArray<string> => {
  const exact = Registry.credentialKey(registry)
  const keys = Object.keys(record).filter((key) => keyMatches(key, registry, flavor))
  return keys.sort((a, b) => (a === exact ? 0 : 1) - (b === exact ? 0 : 1))
}

/**
 * The credential helper configured for a registry: its `credHelpers` entry, else `credsStore`.
 *
 * @since 0.1.0
 * @category matching
 */
export const helperFor = (config: ConfigFile, registry: string, flavor: Flavor = "docker"): Option.Option<string> => {
  const key = matchingKeys(config.credHelpers, registry, flavor)[0]
  if (key !== undefined && config.credHelpers[key]!.length > 0) return Option.some(config.credHelpers[key]!)
  return Option.fromNullable(config.credsStore)
}

/**
 * Decodes the `auth` field (`base64(username:password)`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const decodeAuth = (auth: string): Option.Option<{ readonly username: string; readonly password: string }> =>
  Either.match(Encoding.decodeBase64String(auth.trim()), {
    onLeft: () => Option.none(),
    onRight: (text) => {
      const colon = text.indexOf(":")
      return colon <= 0
        ? Option.none()
        : Option.some({ username: text.slice(0, colon), password: text.slice(colon + 1) })
    }
  })

/**
 * Encodes `username:password` for the `auth` field.
 *
 * @since 0.1.0
 * @category formatting
 */
export const encodeAuth = (username: string, password: string): string =>
  Encoding.encodeBase64(`${username}:${password}`)

/**
 * Writes a config document atomically: a temp file in the same directory (mode 0600) renamed over the
 * target, so readers never see half a file. A symlinked config file is written through the link. The
 * directory is created (mode 0700) when missing.
 *
 * @since 0.1.0
 * @category writing
 */
export const write = (
  path: string,
  document: Readonly<Record<string, unknown>>
): Effect.Effect<void, CredentialStoreError, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const pathApi = yield* Path.Path
    const fail = (reason: string, cause: unknown) =>
      new CredentialStoreError({ path, operation: "write", reason, cause })
    const target = yield* fs.realPath(path).pipe(Effect.orElseSucceed(() => path))
    const dir = pathApi.dirname(target)
    yield* fs.makeDirectory(dir, { recursive: true, mode: 0o700 }).pipe(
      Effect.mapError((e) => fail(`cannot create ${dir}: ${e._tag === "SystemError" ? e.reason : "failed"}`, e))
    )
    const temp = pathApi.join(dir, `.${pathApi.basename(target)}.${Date.now()}-${Math.random().toString(36).slice(2)}`)
    const body = `${JSON.stringify(document, null, "\t")}\n`
    yield* fs.writeFileString(temp, body, { mode: 0o600 }).pipe(
      Effect.zipRight(fs.chmod(temp, 0o600)),
      Effect.zipRight(fs.rename(temp, target)),
      Effect.tapError(() => fs.remove(temp).pipe(Effect.ignore)),
      Effect.mapError((e) => fail(e._tag === "SystemError" ? `${e.reason} (${e.syscall ?? e.method})` : "failed", e))
    )
  })
