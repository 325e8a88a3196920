# syntax=docker/dockerfile:1
# The testbed as one statically linked binary on an empty base.
#
#   docker build -t helseid-testbed .
#   docker run --rm -p 8080:8080 -v testbed-data:/data helseid-testbed
#
# Stage 1 builds the release binary with glibc linked in statically (crt-static, for the
# builder's own <arch>-unknown-linux-gnu target), so stage 2 needs only the binary and a CA bundle:
# the pages, CSS, templates and SyntPop's data are compiled into it. docs/ci.md says how
# this was verified without a container engine.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    target="$(uname -m)-unknown-linux-gnu" \
 && RUSTFLAGS='-C target-feature=+crt-static' \
    cargo build --release --locked --target "$target" -p helseid-testbed \
 && mkdir -p /out/data /out/tmp \
 && cp "target/$target/release/helseid-testbed" /out/helseid-testbed \
 && strip --strip-debug /out/helseid-testbed \
 && chmod 1777 /out/tmp

FROM scratch
# On the PATH every container gets, so the bundled client scenarios' driver `helseid-testbed
# reference-client` is found by name too.
COPY --from=build /out/helseid-testbed /usr/local/bin/helseid-testbed
# /tmp for the conformance runner's scratch files; /data for the testbed's state, owned by
# the unprivileged user the image runs as (a new named volume takes this ownership).
COPY --from=build /out/tmp /tmp
# The CA bundle: nothing is fetched over TLS offline, but the HTTP clients are built with the
# system's roots and the binary stops at startup without any.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/helseid-testbed"]
# --issuer: the URL clients reach the testbed by; override it (with the whole command) when
# that is not http://localhost:8080, e.g. http://testbed:8080 in compose.yaml.
CMD ["up", "--bind", "0.0.0.0", "--issuer", "http://localhost:8080", "--data-dir", "/data"]
