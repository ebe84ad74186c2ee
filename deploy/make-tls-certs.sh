#!/usr/bin/env sh
# Makes a private CA and a server certificate for the aggregator, for
# docker-compose.tls.yml (or FINSECURE_TLS_CERT / FINSECURE_TLS_KEY / FINSECURE_CA_FILE).
#
#   deploy/make-tls-certs.sh [OUT_DIR] [HOST ...]
#
# OUT_DIR defaults to deploy/tls. The certificate names "aggregator" (the compose
# service the banks connect to), "localhost", 127.0.0.1, and every HOST given (the
# public name(s) browsers and remote banks use, e.g. finsecure.example.org).
# Writes ca.crt, ca.key, server.crt, server.key. Keep ca.key offline: it can sign
# certificates every bank would trust. Needs openssl 1.1.1 or later.
set -eu

out=${1:-deploy/tls}
[ $# -gt 0 ] && shift
san="DNS:aggregator,DNS:localhost,IP:127.0.0.1"
for host in "$@"; do
  case $host in
    *:*) san="$san,IP:$host" ;;
    *[!0-9.]*) san="$san,DNS:$host" ;;
    *) san="$san,IP:$host" ;;
  esac
done

mkdir -p "$out"
umask 077

# 1. The CA: a self-signed certificate, valid 5 years.
openssl req -x509 -newkey rsa:3072 -sha256 -days 1825 -nodes \
  -keyout "$out/ca.key" -out "$out/ca.crt" \
  -subj "/CN=FinSecure consortium CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"

# 2. The aggregator's key and certificate request.
openssl req -newkey rsa:3072 -sha256 -nodes \
  -keyout "$out/server.key" -out "$out/server.csr" \
  -subj "/CN=aggregator"

# 3. The CA signs it, valid 1 year, with the subjectAltName clients check.
printf '%s\n' \
  "subjectAltName=$san" \
  "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth" > "$out/server.ext"
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days 365 -sha256 -extfile "$out/server.ext" -out "$out/server.crt"
rm -f "$out/server.csr" "$out/server.ext" "$out/ca.srl"

# Certificates are public; the server key must be readable by the aggregator, which
# runs as uid 1000 in its container (chown it to 1000 if your user has another uid).
chmod 644 "$out/ca.crt" "$out/server.crt"
chmod 600 "$out/ca.key" "$out/server.key"
echo "Wrote $out/ca.crt, $out/server.crt, $out/server.key (SAN: $san); keep $out/ca.key offline."
