# Shell helpers the scripts share; source it.

# dur SECONDS: 1h2m, 3m5s, 42s.
dur() {
  local s=$1
  if [ "$s" -ge 3600 ]; then printf '%dh%dm' $((s / 3600)) $((s % 3600 / 60))
  elif [ "$s" -ge 60 ]; then printf '%dm%ds' $((s / 60)) $((s % 60))
  else printf '%ds' "$s"; fi
}
