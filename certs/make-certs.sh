#!/usr/bin/env bash
# Makes a CA and a serving certificate for the webhook Service, for clusters without cert-manager.
#   certs/make-certs.sh [SERVICE] [NAMESPACE] [OUT_DIR] [DAYS]
# Defaults: mesh-webhook mesh-webhook certs/out 365. Writes ca.crt, ca.key, tls.crt, tls.key.
# The serving certificate's SANs are the Service DNS names the API server calls:
#   SERVICE.NAMESPACE.svc and SERVICE.NAMESPACE.svc.cluster.local (plus SERVICE and SERVICE.NAMESPACE).
# Then: kubectl -n NAMESPACE create secret tls mesh-webhook-tls --cert OUT_DIR/tls.crt --key OUT_DIR/tls.key
#       and put base64 of OUT_DIR/ca.crt into the webhook configurations' caBundle.
set -euo pipefail
service=${1:-mesh-webhook}
namespace=${2:-mesh-webhook}
out=${3:-certs/out}
days=${4:-365}
command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }
mkdir -p "$out"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
  -subj "/CN=${service}-ca" -keyout "$out/ca.key" -out "$out/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=${service}.${namespace}.svc" -keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
cat > "$out/ext.cnf" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:${service},DNS:${service}.${namespace},DNS:${service}.${namespace}.svc,DNS:${service}.${namespace}.svc.cluster.local
EXT
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days "$days" -extfile "$out/ext.cnf" -out "$out/tls.crt" 2>/dev/null
rm -f "$out/tls.csr" "$out/ext.cnf" "$out/ca.srl"
openssl verify -CAfile "$out/ca.crt" "$out/tls.crt" >/dev/null
echo "wrote $out/ca.crt $out/tls.crt $out/tls.key (SANs: ${service}.${namespace}.svc, ${service}.${namespace}.svc.cluster.local)"
