import { NodeContext } from "@effect/platform-node"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, expect, it } from "@effect/vitest"
import { CredentialHelper, Credentials, DockerConfig } from "@ocidist/auth"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as path from "node:path"
import { makeHelpers } from "./support/helpers.js"

const withNode = Effect.provide(NodeContext.layer)

const b64 = (s: string) => Buffer.from(s).toString("base64")

const describeCredential = (credential: Credentials.Credential): string => {
  switch (credential._tag) {
    case "Anonymous":
      return "anonymous"
    case "Basic":
      return `basic ${credential.username}:${Redacted.value(credential.password)}`
    case "IdentityToken":
      return `identity ${credential.username ?? "-"}:${Redacted.value(credential.token)}`
    case "BearerToken":
      return `bearer ${Redacted.value(credential.token)}`
  }
}

const env = (entries: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))))

/** Collects log lines written while `effect` runs. */
const captureLogs = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
    })
    const result = yield* effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return { result, lines }
  })

const writeJson = (file: string, content: unknown) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.writeFileString(file, JSON.stringify(content)).pipe(Effect.orDie))

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped().pipe(Effect.orDie))

const lookup = (service: Credentials.Service, registry: string) => Effect.map(service.get(registry), describeCredential)

describe("Credentials: explicit, environment, chain", () => {
  it.effect("fromEntries matches config-style keys", () =>
    Effect.gen(function*() {
      const service = Credentials.fromEntries({
        "https://index.docker.io/v1/": Credentials.basic("hub", "p1"),
        "http://localhost:5000/": Credentials.bearerToken("t2"),
        "GHCR.io": Credentials.identityToken("i3")
      })
      for (const hub of ["docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"]) {
        assert.strictEqual(yield* lookup(service, hub), "basic hub:p1", hub)
      }
      assert.strictEqual(yield* lookup(service, "localhost:5000"), "bearer t2")
      assert.strictEqual(yield* lookup(service, "localhost:5001"), "anonymous")
      assert.strictEqual(yield* lookup(service, "ghcr.io"), "identity -:i3")
    }).pipe(withNode))

  it.effect("environment: username/password, only for the registries in OCIDIST_REGISTRY", () =>
    Effect.gen(function*() {
      const unscoped = yield* Credentials.environment.pipe(env({ OCIDIST_USERNAME: "u", OCIDIST_PASSWORD: "p" }))
      assert.strictEqual(yield* lookup(unscoped, "ghcr.io"), "anonymous")
      assert.strictEqual(yield* lookup(unscoped, "docker.io"), "anonymous")
      const limited = yield* Credentials.environment.pipe(
        env({ OCIDIST_USERNAME: "u", OCIDIST_PASSWORD: "p", OCIDIST_REGISTRY: "ghcr.io, https://index.docker.io/v1/" })
      )
      assert.strictEqual(yield* lookup(limited, "ghcr.io"), "basic u:p")
      assert.strictEqual(yield* lookup(limited, "registry-1.docker.io"), "basic u:p")
      assert.strictEqual(yield* lookup(limited, "quay.io"), "anonymous")
      const tokens = yield* Credentials.environment.pipe(
        env({ OCIDIST_USERNAME: "u", OCIDIST_IDENTITY_TOKEN: "idt", OCIDIST_PASSWORD: "p", OCIDIST_REGISTRY: "x.io" })
      )
      assert.strictEqual(yield* lookup(tokens, "x.io"), "identity u:idt")
      const bearer = yield* Credentials.environment.pipe(
        env({ OCIDIST_REGISTRY_TOKEN: "rt", OCIDIST_USERNAME: "u", OCIDIST_REGISTRY: "x.io" })
      )
      assert.strictEqual(yield* lookup(bearer, "x.io"), "bearer rt")
      const partial = yield* Credentials.environment.pipe(env({ OCIDIST_USERNAME: "u", OCIDIST_REGISTRY: "x.io" }))
      assert.strictEqual(yield* lookup(partial, "x.io"), "anonymous")
    }).pipe(withNode))

  it.effect("chain: the first source that knows the registry wins", () =>
    Effect.gen(function*() {
      const service = Credentials.chain(
        Credentials.fromEntries({ "a.io": Credentials.basic("first", "1") }),
        Credentials.fromEntries({ "a.io": Credentials.basic("second", "2"), "b.io": Credentials.basic("second", "2") })
      )
      assert.strictEqual(yield* lookup(service, "a.io"), "basic first:1")
      assert.strictEqual(yield* lookup(service, "b.io"), "basic second:2")
      assert.strictEqual(yield* lookup(service, "c.io"), "anonymous")
    }).pipe(withNode))

  it.effect("memoize: one lookup per registry within the ttl", () =>
    Effect.gen(function*() {
      let calls = 0
      const counting = Credentials.fromLookup((registry) =>
        Effect.sync(() => {
          calls++
          return Option.some(Credentials.basic(registry, "p"))
        })
      )
      const memo = Credentials.memoize(counting, "1 minute")
      yield* Effect.all([memo.get("a.io"), memo.get("a.io"), memo.get("A.IO"), memo.get("b.io")], {
        concurrency: "unbounded"
      })
      assert.strictEqual(calls, 2)
    }).pipe(withNode))
})

describe("Credentials: docker config.json", () => {
  it.scoped("auths: auth, username/password, identitytoken, registrytoken, hub keys, ports, schemes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "config.json")
      yield* writeJson(file, {
        auths: {
          "https://index.docker.io/v1/": { auth: b64("hubuser:hub:pass") },
          "https://ghcr.io/v2/": { username: "gh", password: "ghp" },
          "localhost:5000": { auth: b64("local:lp") },
          "quay.io": { auth: b64("q:ignored"), identitytoken: "quay-refresh" },
          "registry.example.com": { registrytoken: "pre-issued" },
          "empty.example.com": {}
        },
        psFormat: "kept"
      })
      const service = yield* Credentials.dockerConfig({ path: file })
      for (const hub of ["docker.io", "index.docker.io", "registry-1.docker.io"]) {
        assert.strictEqual(yield* lookup(service, hub), "basic hubuser:hub:pass")
      }
      assert.strictEqual(yield* lookup(service, "ghcr.io"), "basic gh:ghp")
      assert.strictEqual(yield* lookup(service, "localhost:5000"), "basic local:lp")
      assert.strictEqual(yield* lookup(service, "localhost"), "anonymous")
      assert.strictEqual(yield* lookup(service, "quay.io"), "identity q:quay-refresh")
      assert.strictEqual(yield* lookup(service, "registry.example.com"), "bearer pre-issued")
      assert.strictEqual(yield* lookup(service, "empty.example.com"), "anonymous")
    }).pipe(withNode))

  it.scoped("DOCKER_CONFIG and HOME locate the file; a missing file is no credentials", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* writeJson(path.join(dir, "config.json"), { auths: { "a.io": { auth: b64("a:b") } } })
      const viaEnv = yield* Credentials.dockerConfig().pipe(env({ DOCKER_CONFIG: dir, HOME: "/nonexistent" }))
      assert.strictEqual(yield* lookup(viaEnv, "a.io"), "basic a:b")
      const fs = yield* FileSystem.FileSystem
      yield* fs.makeDirectory(path.join(dir, ".docker")).pipe(Effect.orDie)
      yield* writeJson(path.join(dir, ".docker", "config.json"), { auths: { "a.io": { auth: b64("home:h") } } })
      const viaHome = yield* Credentials.dockerConfig().pipe(env({ HOME: dir }))
      assert.strictEqual(yield* lookup(viaHome, "a.io"), "basic home:h")
      const missing = yield* Credentials.dockerConfig({ path: path.join(dir, "nope.json") })
      assert.strictEqual(yield* lookup(missing, "a.io"), "anonymous")
    }).pipe(withNode))

  it.scoped("a corrupt config file warns and is skipped", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "config.json")
      const fs = yield* FileSystem.FileSystem
      yield* fs.writeFileString(file, "{ \"auths\": { \"a.io\": { \"auth\": \"c2VjcmV0\" } ").pipe(Effect.orDie)
      const service = yield* Credentials.dockerConfig({ path: file })
      const { lines, result } = yield* captureLogs(lookup(service, "a.io"))
      assert.strictEqual(result, "anonymous")
      assert.strictEqual(lines.length, 1)
      assert.match(lines[0]!, /^WARN Could not read .*config\.json: not valid JSON; ignoring it$/)
    }).pipe(withNode))

  it.scoped("credHelpers and credsStore run real helpers on PATH", () =>
    Effect.gen(function*() {
      const helpers = yield* makeHelpers
      const dir = yield* tempDir
      const file = path.join(dir, "config.json")
      yield* writeJson(file, {
        auths: { "fallback.io": { auth: b64("file:fp") }, "ghcr.io": { auth: b64("stale:old") } },
        credHelpers: { "fallback.io": "empty", "ghcr.io": "good" },
        credsStore: "good"
      })
      const service = yield* Credentials.dockerConfig({ path: file, helper: { env: helpers.env } })
      const { lines, result } = yield* captureLogs(Effect.all([
        lookup(service, "ghcr.io"),
        lookup(service, "docker.io"),
        lookup(service, "fallback.io"),
        lookup(service, "unknown.io")
      ]))
      assert.deepStrictEqual(result, [
        "basic helper-user:helper-secret",
        "identity -:hub-identity",
        "basic file:fp",
        "anonymous"
      ])
      assert.deepStrictEqual(lines, [], "'not found' is not a warning")
    }).pipe(withNode))

  for (
    const [helper, expected] of [
      ["missing", "docker-credential-missing was not found on PATH"],
      ["crash", "failed (exit code 3): helper exploded: keychain locked"],
      ["garbage", "the answer is not {\"Username\", \"Secret\"} JSON"],
      ["hang", "timed out after 300ms"]
    ] as const
  ) {
    it.scopedLive(`a ${helper} helper warns and falls back to auths`, () =>
      Effect.gen(function*() {
        const helpers = yield* makeHelpers
        const dir = yield* tempDir
        const file = path.join(dir, "config.json")
        yield* writeJson(file, { auths: { "ghcr.io": { auth: b64("file:fp") } }, credsStore: helper })
        const service = yield* Credentials.dockerConfig({
          path: file,
          helper: { env: helpers.env, timeout: "300 millis" }
        })
        const { lines, result } = yield* captureLogs(lookup(service, "ghcr.io"))
        assert.strictEqual(result, "basic file:fp")
        assert.strictEqual(lines.length, 1)
        assert.include(lines[0], `WARN Credential helper docker-credential-${helper} get for ghcr.io`)
        assert.include(lines[0], expected)
        assert.include(lines[0], "trying the next credential source")
        assert.notInclude(lines[0], "leaky-secret")
      }).pipe(withNode))
  }

  it.scopedLive("a helper run is bounded: the hung process is killed", () =>
    Effect.gen(function*() {
      const helpers = yield* makeHelpers
      const error = yield* Effect.flip(
        CredentialHelper.get("hang", "x.io", { env: helpers.env, timeout: "200 millis" })
      )
      expect(error).toMatchObject({ _tag: "CredentialHelperError", helper: "hang", action: "get" })
      const invalid = yield* Effect.flip(CredentialHelper.get("../evil", "x.io"))
      assert.include(invalid.message, "invalid helper name")
      assert.deepStrictEqual(yield* CredentialHelper.list("store", { env: helpers.env }), {})
      const crash = yield* Effect.flip(CredentialHelper.store("crash", {
        serverUrl: "x.io",
        username: "u",
        secret: Redacted.make("store-secret")
      }, { env: helpers.env }))
      expect(crash).toMatchObject({ _tag: "CredentialHelperError", action: "store", exitCode: 3 })
      assert.notInclude(JSON.stringify(crash), "store-secret")
    }).pipe(withNode))
})

describe("Credentials: podman auth.json", () => {
  it.scoped("REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, namespace keys are not registry-wide", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const fs = yield* FileSystem.FileSystem
      const explicit = path.join(dir, "explicit.json")
      yield* writeJson(explicit, {
        auths: { "quay.io/org/repo": { auth: b64("ns:n") }, "docker.io": { auth: b64("hub:h") } }
      })
      const viaFile = yield* Credentials.podman().pipe(env({ REGISTRY_AUTH_FILE: explicit }))
      assert.strictEqual(yield* lookup(viaFile, "quay.io"), "anonymous")
      assert.strictEqual(yield* lookup(viaFile, "registry-1.docker.io"), "basic hub:h")
      yield* fs.makeDirectory(path.join(dir, "containers")).pipe(Effect.orDie)
      yield* writeJson(path.join(dir, "containers", "auth.json"), { auths: { "quay.io": { auth: b64("rt:r") } } })
      const viaRuntime = yield* Credentials.podman().pipe(env({ XDG_RUNTIME_DIR: dir, HOME: "/nonexistent" }))
      assert.strictEqual(yield* lookup(viaRuntime, "quay.io"), "basic rt:r")
      assert.deepStrictEqual(
        yield* DockerConfig.podmanAuthPaths.pipe(env({ XDG_RUNTIME_DIR: "/run/user/1", HOME: "/home/u" })),
        ["/run/user/1/containers/auth.json", "/home/u/.config/containers/auth.json"]
      )
    }).pipe(withNode))
})

const configFiles = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* writeJson(path.join(dir, "config.json"), {
      auths: { "docker-only.io": { auth: b64("docker:d") }, "both.io": { auth: b64("docker:d") } }
    })
    yield* fs.makeDirectory(path.join(dir, "containers")).pipe(Effect.orDie)
    yield* writeJson(path.join(dir, "containers", "auth.json"), {
      auths: { "podman-only.io": { auth: b64("podman:p") }, "both.io": { auth: b64("podman:p") } }
    })
  })

const everywhere = (dir: string) =>
  env({
    DOCKER_CONFIG: dir,
    XDG_RUNTIME_DIR: dir,
    OCIDIST_USERNAME: "env",
    OCIDIST_PASSWORD: "e",
    OCIDIST_REGISTRY: "env.io,both.io"
  })

describe("Credentials.layer", () => {
  it.scoped("default: environment → docker → podman → anonymous", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* configFiles(dir)
      const service = yield* Credentials.Credentials.pipe(Effect.provide(Credentials.layer()), everywhere(dir))
      assert.strictEqual(yield* lookup(service, "env.io"), "basic env:e")
      assert.strictEqual(yield* lookup(service, "docker-only.io"), "basic docker:d")
      assert.strictEqual(yield* lookup(service, "both.io"), "basic env:e")
      assert.strictEqual(yield* lookup(service, "podman-only.io"), "basic podman:p")
      assert.strictEqual(yield* lookup(service, "nowhere.io"), "anonymous")
    }).pipe(withNode))

  it.scoped("sources pick and order the sources; explicit credentials come first", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* configFiles(dir)
      const podmanFirst = yield* Credentials.make({ sources: ["podman", "docker"] }).pipe(everywhere(dir))
      assert.strictEqual(yield* lookup(podmanFirst, "both.io"), "basic podman:p")
      assert.strictEqual(yield* lookup(podmanFirst, "docker-only.io"), "basic docker:d")
      assert.strictEqual(yield* lookup(podmanFirst, "env.io"), "anonymous")
      const explicit = yield* Credentials.make({
        explicit: { "both.io": Credentials.basic("explicit", "x") },
        sources: ["docker"]
      }).pipe(everywhere(dir))
      assert.strictEqual(yield* lookup(explicit, "both.io"), "basic explicit:x")
      assert.strictEqual(yield* lookup(explicit, "docker-only.io"), "basic docker:d")
      assert.strictEqual(yield* lookup(explicit, "podman-only.io"), "anonymous")
    }).pipe(withNode))

  // No NodeContext here: without file sources the layers need no FileSystem, Path or CommandExecutor.
  it.effect("sources: [] is explicit-or-anonymous, [\"environment\"] the environment only", () =>
    Effect.gen(function*() {
      const anonymous = yield* Credentials.Credentials.pipe(
        Effect.provide(Credentials.layer({ sources: [] })),
        env({ OCIDIST_USERNAME: "env", OCIDIST_PASSWORD: "e", OCIDIST_REGISTRY: "env.io" })
      )
      assert.strictEqual(yield* lookup(anonymous, "env.io"), "anonymous")
      const fixed = yield* Credentials.Credentials.pipe(
        Effect.provide(Credentials.layer({ explicit: [["a.io", Credentials.bearerToken("t")]], sources: [] }))
      )
      assert.strictEqual(yield* lookup(fixed, "a.io"), "bearer t")
      assert.strictEqual(yield* lookup(fixed, "b.io"), "anonymous")
      const envOnly = yield* Credentials.Credentials.pipe(
        Effect.provide(Credentials.layer({ sources: ["environment"] })),
        env({ OCIDIST_USERNAME: "env", OCIDIST_PASSWORD: "e", OCIDIST_REGISTRY: "env.io" })
      )
      assert.strictEqual(yield* lookup(envOnly, "env.io"), "basic env:e")
    }))

  it.scoped("layerConfig reads the options from Config", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* configFiles(dir)
      const layer = Credentials.layerConfig({
        sources: Config.array(Config.literal("environment", "docker", "podman")(), "SOURCES"),
        cacheTtl: Config.duration("TTL")
      })
      const service = yield* Credentials.Credentials.pipe(
        Effect.provide(layer),
        env({ DOCKER_CONFIG: dir, XDG_RUNTIME_DIR: dir, SOURCES: "podman", TTL: "1 minute" })
      )
      assert.strictEqual(yield* lookup(service, "both.io"), "basic podman:p")
      assert.strictEqual(yield* lookup(service, "docker-only.io"), "anonymous")
      const missing = yield* Effect.flip(
        Credentials.Credentials.pipe(Effect.provide(layer), env({ SOURCES: "podman", TTL: "banana" }))
      )
      assert.include(String(missing), "TTL")
    }).pipe(withNode))
})

describe("causes", () => {
  it.scoped("CredentialHelperError and CredentialStoreError keep the platform error behind them", () =>
    Effect.gen(function*() {
      const helpers = yield* makeHelpers
      const missing = yield* Effect.flip(CredentialHelper.get("missing", "x.io", { env: helpers.env }))
      assert.include(missing.message, "was not found on PATH")
      expect(missing.cause).toMatchObject({ _tag: "SystemError", reason: "NotFound" })
      const dir = yield* tempDir
      // a directory where the file should be: reading it fails below the parser
      const unreadable = yield* Effect.flip(DockerConfig.read(dir))
      expect(unreadable).toMatchObject({ _tag: "CredentialStoreError", operation: "read" })
      expect(unreadable.cause).toMatchObject({ _tag: "SystemError", method: "readFile" })
      const fs = yield* FileSystem.FileSystem
      const blocker = path.join(dir, "a-file")
      yield* fs.writeFileString(blocker, "").pipe(Effect.orDie)
      const unwritable = yield* Effect.flip(DockerConfig.write(path.join(blocker, "docker", "config.json"), {}))
      expect(unwritable).toMatchObject({ _tag: "CredentialStoreError", operation: "write" })
      expect(unwritable.cause).toMatchObject({ _tag: "SystemError" })
      // a corrupt file: no cause, since a parse error would quote the file (and its secrets)
      const corrupt = path.join(dir, "corrupt.json")
      yield* fs.writeFileString(corrupt, "{\"auths\": {\"a.io\": {\"auth\": \"c2VjcmV0\"").pipe(Effect.orDie)
      const parse = yield* Effect.flip(DockerConfig.read(corrupt))
      assert.isUndefined(parse.cause)
      assert.notInclude(JSON.stringify(parse), "c2VjcmV0")
    }).pipe(withNode))
})
