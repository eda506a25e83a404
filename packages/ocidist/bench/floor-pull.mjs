// The floor of a pull in Node on this machine, for the transfer benchmark's `floor` job: the least work that
// does what `ocidist pull` and `skopeo copy` do with an image's bytes, and nothing else. No Effect, no
// retries, resumption, stall detection, progress, auth or locks: one `node:http` GET per blob, every buffer
// hashed (`node:crypto`, synchronous) and written where it belongs (`fs.writeSync` at its position) as it
// arrives, the pages handed to the disk as they pile up (one background `fdatasync` at a time, every 8 MiB a
// file has written, as ocidist's layouts do), the file synced (`fsync`, as ocidist and skopeo both do) and
// renamed once its digest matches; then
// the manifest, `oci-layout` and `index.json`. With THREADS > 1 the blobs are shared out over that many
// worker threads (each its own connection), the one design that spreads a single pull over cores.
// Plain registries over plain HTTP only (the benchmark's loopback docker-registry); fails on anything else.
// Usage: node floor-pull.mjs HOST/REPO:TAG OUT-DIR [THREADS]
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads"

const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json"
].join(", ")

const agent = new http.Agent({ keepAlive: true })

/** Write-behind: background flushes running in this thread (at most one), and the bytes between two of a file. */
let flushing = 0
const FLUSH_BYTES = 8 * 1024 * 1024

/** GET `url`, following redirects; resolves with the response (status 200) or rejects. */
const get = (url, accept, hops = 0) =>
  new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: accept === undefined ? {} : { accept } }, (res) => {
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location !== undefined && hops < 5) {
        res.resume()
        return resolve(get(new URL(res.headers.location, url).href, accept, hops + 1))
      }
      if (res.statusCode !== 200) {
        res.resume()
        return reject(new Error(`GET ${url}: HTTP ${res.statusCode}`))
      }
      resolve(res)
    })
    req.on("error", reject)
  })

const readAll = async (res) => {
  const parts = []
  for await (const part of res) parts.push(part)
  return Buffer.concat(parts)
}

/** Downloads one blob into `out/blobs/sha256/`: hashed and written per buffer, synced, renamed when it matches. */
const pullBlob = (base, out, descriptor) =>
  get(`${base}/blobs/${descriptor.digest}`).then((res) =>
    new Promise((resolve, reject) => {
      const hex = descriptor.digest.slice("sha256:".length)
      const partial = path.join(out, "ingest", `${hex}.partial`)
      const fd = fs.openSync(partial, "w")
      const hash = crypto.createHash("sha256")
      let position = 0
      let unflushed = 0
      let flush
      res.on("data", (buffer) => {
        hash.update(buffer)
        for (let done = 0; done < buffer.length;) {
          done += fs.writeSync(fd, buffer, done, buffer.length - done, position + done)
        }
        position += buffer.length
        unflushed += buffer.length
        if (unflushed >= FLUSH_BYTES && flush === undefined && flushing === 0) {
          flushing++
          unflushed = 0
          flush = new Promise((done) =>
            fs.fdatasync(fd, (error) => {
              flushing--
              flush = undefined
              if (error !== null) reject(error)
              done()
            })
          )
        }
      })
      res.on("error", reject)
      res.on("end", async () => {
        await flush
        fs.fsyncSync(fd)
        fs.closeSync(fd)
        const actual = `sha256:${hash.digest("hex")}`
        if (actual !== descriptor.digest || position !== descriptor.size) {
          return reject(new Error(`${descriptor.digest}: got ${actual}, ${position} bytes`))
        }
        fs.renameSync(partial, path.join(out, "blobs", "sha256", hex))
        resolve()
      })
    })
  )

if (isMainThread) {
  const [reference, out, threadsArg] = process.argv.slice(2)
  const match = /^([^/]+)\/(.+):([^:/]+)$/.exec(reference ?? "")
  if (match === null || out === undefined) {
    console.error("usage: node floor-pull.mjs HOST/REPO:TAG OUT-DIR [THREADS]")
    process.exit(2)
  }
  const [, host, repo, tag] = match
  const base = `http://${host}/v2/${repo}`
  const threads = Math.max(1, Number(threadsArg ?? 1))
  fs.mkdirSync(path.join(out, "blobs", "sha256"), { recursive: true })
  fs.mkdirSync(path.join(out, "ingest"), { recursive: true })
  const manifestBytes = await readAll(await get(`${base}/manifests/${tag}`, MANIFEST_TYPES))
  const manifest = JSON.parse(manifestBytes.toString("utf8"))
  // largest first, so that the threads finish together
  const queue = [manifest.config, ...manifest.layers].sort((a, b) => b.size - a.size)
  if (threads === 1) {
    await Promise.all(queue.map((descriptor) => pullBlob(base, out, descriptor)))
  } else {
    await Promise.all(Array.from({ length: threads }, () =>
      new Promise((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: { base, out } })
        const next = () => {
          const descriptor = queue.shift()
          if (descriptor === undefined) return void worker.terminate().then(() => resolve())
          worker.postMessage(descriptor)
        }
        worker.on("message", (message) => message === "done" ? next() : reject(new Error(message)))
        worker.on("error", reject)
        next()
      })))
  }
  const digest = `sha256:${crypto.createHash("sha256").update(manifestBytes).digest("hex")}`
  fs.writeFileSync(path.join(out, "blobs", "sha256", digest.slice("sha256:".length)), manifestBytes)
  fs.rmSync(path.join(out, "ingest"), { recursive: true })
  fs.writeFileSync(path.join(out, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }))
  fs.writeFileSync(
    path.join(out, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{
        mediaType: manifest.mediaType ?? "application/vnd.oci.image.manifest.v1+json",
        digest,
        size: manifestBytes.length,
        annotations: { "org.opencontainers.image.ref.name": tag }
      }]
    })
  )
  agent.destroy()
  process.stdout.write(`${digest}\n`)
} else {
  const { base, out } = workerData
  parentPort.on("message", (descriptor) =>
    pullBlob(base, out, descriptor).then(
      () => parentPort.postMessage("done"),
      (error) => parentPort.postMessage(String(error))
    ))
}
