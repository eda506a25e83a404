// The main job, offline: builds every package and the CLI, starts ocidist's embedded OCI registry
// (`ocidist registry serve --port 0 --memory`, a child process), writes a small multi-platform image (an OCI
// layout: an index of linux/amd64 and linux/arm64 images) and an SBOM-like artifact that refers to it, and
// then, with the `ocidist` CLI only: pushes the image, attaches the SBOM as a referrer, copies both to a second
// repository (blobs mounted, not re-uploaded), lists tags, repositories and referrers, inspects, pulls one
// platform into an OCI layout and verifies it, writes a docker-archive, and stops the registry (Ctrl-C, exit 0).
// When the Debian `docker-registry` is installed, it also copies the image and its SBOM to one (which has no
// referrers API: ocidist falls back to the sha256-<hex> tag) and lists them there.
//
// Everything it writes is in demo-output/ (removed at the start); no process is left running.
import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { join, relative } from "node:path"
import { gzipSync } from "node:zlib"

const root = new URL("..", import.meta.url).pathname
const cli = join(root, "apps/cli/dist/ocidist.cjs")
const out = join(root, "demo-output")
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1" }
// the CLI runs in the repository's root: paths are given to it (and printed) relative to it
const local = (path) => relative(root, path)
const shown = (a) => a.startsWith(root) ? local(a) || "." : a
const children = new Set()
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL")
})
const fail = (message) => {
  console.error(`demo: ${message}`)
  process.exit(1)
}
const run = (command, args, options = {}) => {
  console.log(`\n$ ${[command, ...args].map(shown).join(" ")}`)
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env, ...options })
  if (result.status !== 0) {
    console.error(`demo: ${command} exited with ${result.status ?? result.signal}`)
    process.exit(result.status ?? 1)
  }
}
const ocidist = (...args) => {
  console.log(`\n$ ocidist ${args.map(shown).join(" ")}`)
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, stdio: "inherit", env })
  if (result.status !== 0) fail(`ocidist ${args[0]} exited with ${result.status ?? result.signal}`)
}
const step = (text) => console.log(`\n== ${text}`)

// ---------------------------------------------------------------------------------------------------------
// Content, written with plain node:fs: a gzipped tar layer per platform, configs, manifests, an index.

const sha256 = (bytes) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`
const tarOf = (name, content) => {
  const header = Buffer.alloc(512)
  header.write(name, 0)
  header.write("0000644\0", 100)
  header.write("0000000\0", 108)
  header.write("0000000\0", 116)
  header.write(content.length.toString(8).padStart(11, "0") + "\0", 124)
  header.write("00000000000\0", 136)
  header.write("        ", 148)
  header.write("0", 156)
  header.write("ustar\x0000", 257)
  const sum = header.reduce((n, b) => n + b, 0)
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148)
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512)
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)])
}
const MANIFEST = "application/vnd.oci.image.manifest.v1+json"
const INDEX = "application/vnd.oci.image.index.v1+json"

/** An OCI layout in `dir`: `blob(bytes)` stores a blob, `finish(entries)` writes index.json. */
const layout = (dir) => {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true })
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  return {
    blob: (bytes) => {
      const digest = sha256(bytes)
      writeFileSync(join(dir, "blobs", "sha256", digest.slice(7)), bytes)
      return { digest, size: bytes.length }
    },
    finish: (manifests) =>
      writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests }))
  }
}

/** linux/amd64 and linux/arm64 images of one layer (/hello.txt) under an index tagged v1. */
const writeImage = (dir) => {
  const { blob, finish } = layout(dir)
  const images = ["amd64", "arm64"].map((architecture) => {
    const tar = tarOf("hello.txt", Buffer.from(`hello from ocidist on linux/${architecture}\n`))
    const layer = blob(gzipSync(tar, { level: 9 }))
    const config = blob(Buffer.from(JSON.stringify({
      architecture,
      os: "linux",
      created: "2026-01-01T00:00:00Z",
      config: { Cmd: ["cat", "/hello.txt"], Labels: { "org.opencontainers.image.title": "ocidist demo" } },
      rootfs: { type: "layers", diff_ids: [sha256(tar)] }
    })))
    const manifest = blob(Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }]
    })))
    return { mediaType: MANIFEST, ...manifest, platform: { architecture, os: "linux" } }
  })
  const index = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: images })))
  finish([{ mediaType: INDEX, ...index, annotations: { "org.opencontainers.image.ref.name": "v1" } }])
  return { index: { mediaType: INDEX, ...index }, images }
}

/** An SPDX-like SBOM as an OCI artifact whose `subject` is `subject`: its own layout, one untagged manifest. */
const writeSbom = (dir, subject) => {
  const { blob, finish } = layout(dir)
  const empty = blob(Buffer.from("{}"))
  const document = blob(Buffer.from(JSON.stringify(
    {
      spdxVersion: "SPDX-2.3",
      SPDXID: "SPDXRef-DOCUMENT",
      name: "ocidist-demo",
      packages: [{ SPDXID: "SPDXRef-hello", name: "hello.txt", versionInfo: "1.0" }]
    },
    null,
    2
  )))
  const manifest = blob(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST,
    artifactType: "application/spdx+json",
    config: { mediaType: "application/vnd.oci.empty.v1+json", ...empty, data: "e30=" },
    layers: [{
      mediaType: "application/spdx+json",
      ...document,
      annotations: { "org.opencontainers.image.title": "sbom.spdx.json" }
    }],
    subject,
    annotations: { "org.opencontainers.image.created": "2026-01-01T00:00:00Z" }
  })))
  finish([{ mediaType: MANIFEST, ...manifest, artifactType: "application/spdx+json" }])
  return manifest
}

/** Every blob of a layout hashes to its name; returns how many there are. */
const verifyLayout = (dir) => {
  let count = 0
  for (const name of readdirSync(join(dir, "blobs", "sha256"))) {
    const actual = createHash("sha256").update(readFileSync(join(dir, "blobs", "sha256", name))).digest("hex")
    if (actual !== name) fail(`${local(dir)}: blob ${name} hashes to ${actual}`)
    count++
  }
  return count
}

// ---------------------------------------------------------------------------------------------------------
// Registries.

/**
 * Starts `ocidist registry serve`; resolves with its host once it printed its address line (stdout) and its
 * hint (stderr). Its output is relayed here, in that order; later lines (its "stopped") when this script
 * waits (the other commands run with spawnSync, which blocks this event loop).
 */
const startRegistry = (...args) =>
  new Promise((resolve) => {
    console.log(`\n$ ocidist ${args.join(" ")} &`)
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] })
    children.add(child)
    let stdout = ""
    let stderr = ""
    let host
    const timer = setTimeout(() => fail("the registry did not print its address within 30 s"), 30_000)
    const check = () => {
      if (host !== undefined) return
      const match = /^ocidist registry: serving (\S+) /m.exec(stdout)
      if (match === null || !stderr.includes("\n")) return
      host = match[1]
      clearTimeout(timer)
      process.stdout.write(stdout + stderr)
      resolve({ host, child })
    }
    child.stdout.setEncoding("utf8")
    child.stderr.setEncoding("utf8")
    child.stdout.on("data", (text) => {
      if (host === undefined) stdout += text
      else process.stdout.write(text)
      check()
    })
    child.stderr.on("data", (text) => {
      if (host === undefined) stderr += text
      else process.stdout.write(text)
      check()
    })
    child.on("exit", (code, signal) => {
      if (children.has(child)) fail(`the registry exited early (${code ?? signal}): ${stderr.trim()}`)
    })
  })

/** Stops a child with SIGINT (Ctrl-C) and resolves with its exit code. */
const stop = (child) =>
  new Promise((resolve) => {
    children.delete(child)
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      resolve(code ?? signal)
    })
    child.kill("SIGINT")
  })

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

/** The Debian docker-registry on a free loopback port, or undefined when it is not installed. */
const startDockerRegistry = async () => {
  if (spawnSync("sh", ["-c", "command -v docker-registry"]).status !== 0) return undefined
  const port = await freePort()
  const dir = join(out, "docker-registry")
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, "config.yml"),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`
  )
  const child = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: "ignore" })
  children.add(child)
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false)) {
      return { host: `127.0.0.1:${port}`, child }
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  fail("docker-registry did not answer within 10 s")
}

// ---------------------------------------------------------------------------------------------------------

run("pnpm", ["build"])
rmSync(out, { recursive: true, force: true })
mkdirSync(out)

step("the CLI, and the embedded registry on a free port (in memory)")
ocidist("version")
const { child: registry, host } = await startRegistry("registry", "serve", "--port", "0", "--memory")

step("a multi-platform image (linux/amd64 + linux/arm64) in an OCI layout, written with node:fs")
const source = join(out, "layout")
const { images, index } = writeImage(source)
ocidist("inspect", `oci:${local(source)}:v1`)

step("push it to the registry")
ocidist("push", `oci:${local(source)}:v1`, `${host}/demo/app:v1`)

step("attach an SBOM: an artifact (application/spdx+json) whose subject is the image's index")
const sbom = writeSbom(join(out, "sbom"), index)
ocidist("copy", `oci:${local(join(out, "sbom"))}`, `${host}/demo/app@${sbom.digest}`)

step("copy the image and its referrers to another repository: blobs are mounted, not uploaded again")
ocidist("copy", "--referrers", `${host}/demo/app:v1`, `${host}/mirror/app:v1`)

step("list repositories, tags and referrers")
ocidist("catalog", host)
ocidist("tags", `${host}/mirror/app`)
ocidist("referrers", `${host}/mirror/app:v1`)

step("inspect it in the registry")
ocidist("inspect", `${host}/mirror/app:v1`)

step("pull one platform into an OCI layout, and verify it")
const pulled = join(out, "pulled-arm64")
ocidist("pull", "--platform", "linux/arm64", `${host}/mirror/app:v1`, `oci:${local(pulled)}:v1`)
ocidist("inspect", `oci:${local(pulled)}:v1`)
const arm64 = images.find((i) => i.platform.architecture === "arm64").digest
const entries = JSON.parse(readFileSync(join(pulled, "index.json"), "utf8")).manifests
if (entries.length !== 1 || entries[0].digest !== arm64) fail(`the pulled layout does not hold ${arm64}`)
console.log(
  `verified: ${local(pulled)} holds the linux/arm64 manifest ${arm64}; its ${
    verifyLayout(pulled)
  } blobs match their digests`
)

step("and as a docker-archive (docker load)")
const archive = join(out, "app-amd64.tar")
ocidist("copy", "--platform", "linux/amd64", `${host}/mirror/app:v1`, `docker-archive:${local(archive)}:demo/app:v1`)
ocidist("inspect", `docker-archive:${local(archive)}`)

const docker = await startDockerRegistry()
if (docker === undefined) {
  console.log("\n(docker-registry is not installed: skipping the copy to a second registry)")
} else {
  step(`copy to the Debian docker-registry at ${docker.host} (no referrers API: the sha256-<hex> tag is used)`)
  ocidist("copy", "--referrers", `${host}/demo/app:v1`, `${docker.host}/demo/app:v1`)
  ocidist("tags", `${docker.host}/demo/app`)
  ocidist("referrers", `${docker.host}/demo/app:v1`)
  children.delete(docker.child)
  docker.child.kill("SIGTERM")
}

step("stop the registry (Ctrl-C)")
console.log("\n$ kill -INT <ocidist registry serve>")
const code = await stop(registry)
if (code !== 0) fail(`ocidist registry serve exited with ${code} on SIGINT`)
console.log("ocidist registry serve exited with 0")

console.log(`\ndemo: ok (its files are in ${local(out)}/)`)
