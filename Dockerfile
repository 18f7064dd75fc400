# mesh-webhook container image: built with the full Node 24 image, run on distroless Node 24 (no shell, non-root).
# Base images are pinned by digest (the tag stays for readers): a re-pushed tag cannot change what we build on. Pin
# the multi-architecture index digest of the tag (what `docker pull TAG` resolves on any platform), not one platform's
# manifest. To update, resolve both tags and edit both FROM lines:
#   docker buildx imagetools inspect node:24-bookworm-slim                        (its first "Digest:" line)
#   docker buildx imagetools inspect gcr.io/distroless/nodejs24-debian12:nonroot
# or `crane digest IMAGE:TAG`; then rebuild and run the tests (test/manifests/dockerfile.test.ts checks the pins).
# The registries cannot be reached from our development machines: the digests below are published pins of these tags
# found in public Dockerfiles, not resolved here (docs/drafts/manifests-security.md); re-resolve them before a release.
FROM node:24-bookworm-slim@sha256:0e0ff40c39bc087845bfb27465a0df4ea419520094bc35842ff83dd8cbe6f9b6 AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --omit=optional
COPY tsconfig.json ./
COPY src ./src
RUN ./node_modules/.bin/tsc -p tsconfig.json && npm prune --omit=dev --ignore-scripts

FROM gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
ENV NODE_ENV=production
USER 65532:65532
EXPOSE 8443
# A young generation sized for throughput: under the Deployment's memory limit Node sizes V8's heap to the container
# (a 256 MiB cgroup gives a 259 MiB heap limit) and V8 then keeps the young generation so small that it collects ten
# times as often; 16 MiB semispaces take ~30 % less CPU per admission there (bench/RESULTS.md, "Memory").
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=16", "dist/cli/main.js"]
# All interfaces: in a container the port is reached from outside it (the CLI's own default, 127.0.0.1, is for npm
# start on a workstation). The Deployment passes its own arguments, with the same two flags.
CMD ["serve", "--host", "0.0.0.0", "--metrics-host", "0.0.0.0"]
