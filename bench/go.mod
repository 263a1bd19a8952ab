module github.com/faultbox/faultbox/bench

go 1.26.0

require (
	github.com/cockroachdb/pebble v1.1.5
	github.com/faultbox/faultbox v0.0.0
	github.com/pingcap/failpoint v0.0.0-20240528011301-b51a646c7c86
	go.etcd.io/gofail v0.2.0
)

require (
	github.com/cockroachdb/errors v1.11.3 // indirect
	github.com/cockroachdb/logtags v0.0.0-20230118201751-21c54148d20b // indirect
	github.com/cockroachdb/redact v1.1.5 // indirect
	github.com/getsentry/sentry-go v0.27.0 // indirect
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/kr/pretty v0.3.1 // indirect
	github.com/kr/text v0.2.0 // indirect
	github.com/pingcap/errors v0.11.4 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/rogpeppe/go-internal v1.9.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.14.0 // indirect
)

replace github.com/faultbox/faultbox => ../
