#!/usr/bin/env bash
# Fetches the Apache Kafka broker's runtime jars from Maven Central into infra/kafka/lib/ (git-ignored).
#
# The jar set is named by pom.xml beside this script. A stamp file in lib/ records the pom's hash and the jar
# list; when both still match, the script returns at once. Otherwise lib/ is wiped first (two versions of one
# jar on the classpath break the broker) and filled again by the dependency plugin's copy-dependencies goal.
# Maven's local repository caches every artifact, so a later run works offline.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lib="$here/lib"
stamp="$lib/.stamp"

pom_hash="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"

current_stamp() {
    printf 'pom %s\n' "$pom_hash"
    (cd "$lib" && ls -1 -- *.jar 2>/dev/null | LC_ALL=C sort)
}

if [ -f "$stamp" ] && [ "$(current_stamp)" = "$(cat "$stamp")" ]; then
    exit 0
fi

missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)  # Kafka 4 needs Java 17 or later
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "fetching the Kafka broker jars into $lib"
rm -rf "$lib"
mkdir -p "$lib"
mvn_args=(-B -q -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$lib")
# Offline first: after the first fetch every artifact is in Maven's local repository.
if ! mvn -o "${mvn_args[@]}" >/dev/null 2>&1; then
    rm -rf "$lib"
    mkdir -p "$lib"
    mvn "${mvn_args[@]}"
fi

jars="$(cd "$lib" && ls -1 -- *.jar | wc -l)"
for required in kafka_2.13 kafka-server kafka-clients log4j-core log4j-slf4j-impl slf4j-api; do
    if ! ls "$lib/$required"-[0-9]*.jar >/dev/null 2>&1; then
        echo "fetch-jars: $required is missing from $lib after the fetch; check infra/kafka/pom.xml" >&2
        exit 1
    fi
done
current_stamp >"$stamp"
echo "fetched $jars jars ($(du -sh "$lib" | cut -f1))"
