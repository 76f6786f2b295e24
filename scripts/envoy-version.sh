# Sourced by the other scripts: the one Envoy version the project pins.
ENVOY_VERSION=1.40.0
ENVOY_IMAGE="envoyproxy/envoy:v${ENVOY_VERSION}"
