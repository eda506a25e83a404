// The main job, offline: builds every package and the CLI, makes a small image in an OCI layout, then moves
// it through the formats ocidist reads and writes (OCI layout → oci-archive → docker-archive → OCI layout),
// inspecting and verifying on the way. When the Debian `docker-registry` is installed, it also pushes the
// image to a registry on 127.0.0.1 and pulls it back.
import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gzipSync } from "node:zlib"

const root = new URL("..", import.meta.url).pathname
const cli = join(root, "apps/cli/dist/ocidist.cjs")
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1" }
const run = (command, args, options = {}) => {
  console.log(`\n$ ${[command, ...args].map((a) => a.startsWith(root) ? a.slice(root.length) : a).join(" ")}`)
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env, ...options })
  if (result.status !== 0) {
    console.error(`demo: ${command} exited with ${result.status}`)
    process.exit(result.status ?? 1)
  }
}
const ocidist = (...args) => run(process.execPath, [cli, ...args])

// A tiny image: one layer holding /hello.txt, written as an OCI image layout with plain node:fs.
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
const writeImage = (dir) => {
  const blob = (bytes) => {
    const digest = sha256(bytes)
    writeFileSync(join(dir, "blobs", "sha256", digest.slice(7)), bytes)
    return digest
  }
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true })
  const tar = tarOf("hello.txt", Buffer.from("hello from ocidist\n"))
  const layer = gzipSync(tar, { level: 9 })
  const config = Buffer.from(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created: "2026-01-01T00:00:00Z",
    config: { Cmd: ["cat", "/hello.txt"], Labels: { "org.opencontainers.image.title": "ocidist demo" } },
    rootfs: { type: "layers", diff_ids: [sha256(tar)] }
  }))
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: blob(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: blob(layer), size: layer.length }]
  }))
  const manifestDigest = blob(manifest)
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: manifestDigest,
        size: manifest.length,
        annotations: { "org.opencontainers.image.ref.name": "v1" }
      }]
    })
  )
}

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

run("pnpm", ["build"])
const work = mkdtempSync(join(tmpdir(), "ocidist-demo-"))
try {
  ocidist("version")
  ocidist("ref", "ubuntu:22.04")
  const source = join(work, "source")
  writeImage(source)
  ocidist("inspect", `oci:${source}:v1`)
  ocidist("copy", `oci:${source}:v1`, `oci-archive:${join(work, "image.tar")}`)
  ocidist("copy", `oci-archive:${join(work, "image.tar")}`, `docker-archive:${join(work, "docker.tar")}:demo:v1`)
  ocidist("copy", `docker-archive:${join(work, "docker.tar")}`, `oci:${join(work, "back")}:v1`)
  ocidist("inspect", `oci:${join(work, "back")}:v1`)
  ocidist("tags", `oci:${source}`)

  if (spawnSync("sh", ["-c", "command -v docker-registry"]).status === 0) {
    const port = await freePort()
    const dir = join(work, "registry")
    mkdirSync(dir)
    writeFileSync(
      join(dir, "config.yml"),
      `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`
    )
    const registry = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: "ignore" })
    try {
      for (let i = 0; i < 50; i++) {
        const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false)
        if (ok) break
        await new Promise((r) => setTimeout(r, 100))
      }
      ocidist("push", `oci:${source}:v1`, `127.0.0.1:${port}/demo/hello:v1`)
      ocidist("digest", `127.0.0.1:${port}/demo/hello:v1`)
      ocidist("pull", `127.0.0.1:${port}/demo/hello:v1`, join(work, "pulled"))
      ocidist("tags", `127.0.0.1:${port}/demo/hello`)
    } finally {
      registry.kill()
    }
  } else {
    console.log("\n(docker-registry is not installed: skipping the registry part of the demo)")
  }
  console.log("\ndemo: ok")
} finally {
  rmSync(work, { recursive: true, force: true })
}
