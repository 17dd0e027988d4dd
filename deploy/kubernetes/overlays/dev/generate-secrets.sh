#!/bin/sh
# Writes the dev overlay's secret files (kustomization.yaml's secretGenerator reads them):
#   secrets/jwt-hs-secret           32 random bytes, base64url: the HS256 key `strettch-gateway token` signs with
#   secrets/strettch-api-key-prod   $STRETTCH_API_KEY_PROD when set, else a random value the provider refuses
# An existing file is kept, so tokens already minted stay valid; delete it to rotate.
# Usage: generate-secrets.sh [directory, default: secrets/ beside this script]
set -eu
dir=${1:-"$(dirname "$0")/secrets"}
umask 077
mkdir -p "$dir"

random() { head -c 32 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_'; }

write() { # name value
  if [ -e "$dir/$1" ]; then echo "kept      $dir/$1"; return; fi
  printf '%s' "$2" > "$dir/$1"
  echo "generated $dir/$1"
}

write jwt-hs-secret "$(random)"
write strettch-api-key-prod "${STRETTCH_API_KEY_PROD:-unset-$(random)}"
