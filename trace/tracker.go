//go:build linux

package trace

import (
	"slices"
	"sort"
)

// link works out, after a run, who talked to whom: each connect is paired with its accept,
// each received byte of a stream with the send that wrote it (by byte offset per direction),
// each datagram with the send of the same contents, and adds those pairs to the
// happens-before edges that program order already gave every event.
func link(events []*Event, byInode map[uint64]*Endpoint) {
	unixPair := map[uint64]uint64{}
	// connect → accept. The candidate connects, in event order: TCP ones indexed by their
	// {local, remote} pair (each accept takes the first unused one whose ends mirror its
	// own), unix ones kept in a list to scan.
	tcpConnects := map[[2]string][]int{}
	var unixConnects []int
	for j, c := range events {
		if c.Call != "connect" || c.Ret < 0 && c.Errno != "EINPROGRESS" || c.Endpoint == nil {
			continue
		}
		switch c.Endpoint.Kind {
		case "tcp":
			key := [2]string{c.Endpoint.Local, c.Endpoint.Remote}
			tcpConnects[key] = append(tcpConnects[key], j)
		case "unix":
			unixConnects = append(unixConnects, j)
		}
	}
	usedConnect := map[int]bool{}
	for _, a := range events {
		if (a.Call != "accept" && a.Call != "accept4") || a.Ret < 0 || a.Endpoint == nil {
			continue
		}
		switch a.Endpoint.Kind {
		case "tcp":
			if a.Endpoint.Remote == "" {
				continue
			}
			// Only TCP accepts of this same pair take from this list, always its first
			// entry, so the used ones are a prefix: drop it.
			key := [2]string{a.Endpoint.Remote, a.Endpoint.Local}
			if list := tcpConnects[key]; len(list) > 0 {
				usedConnect[list[0]] = true
				tcpConnects[key] = list[1:]
				a.msgFrom = append(a.msgFrom, list[0])
			}
		case "unix":
			peer := a.Endpoint.peer
			if cur := byInode[a.Endpoint.Inode]; cur != nil && cur.peer != 0 {
				peer = cur.peer
			}
			for _, j := range unixConnects {
				c := events[j]
				// When the client closed before the accept, sock_diag no longer names the
				// peer: pair the connects and accepts of one path in order instead.
				ok := peer != 0 && peer == c.Endpoint.Inode ||
					peer == 0 && a.Endpoint.Path != "" && c.Dest == a.Endpoint.Path
				if ok && !usedConnect[j] {
					usedConnect[j] = true
					a.msgFrom = append(a.msgFrom, j)
					unixPair[a.Endpoint.Inode] = c.Endpoint.Inode
					unixPair[c.Endpoint.Inode] = a.Endpoint.Inode
					break
				}
			}
		}
	}
	// The sending inode for a receiving one.
	tcpBy := map[[2]string]uint64{}
	for ino, ep := range byInode {
		if ep.Kind == "tcp" && ep.Remote != "" {
			tcpBy[[2]string{ep.Local, ep.Remote}] = ino
		}
	}
	from := func(ep *Endpoint) uint64 {
		switch ep.Kind {
		case "pipe":
			return ep.Inode
		case "unix":
			if cur := byInode[ep.Inode]; cur != nil && cur.peer != 0 {
				return cur.peer
			}
			if ep.peer != 0 {
				return ep.peer
			}
			return unixPair[ep.Inode]
		case "tcp":
			return tcpBy[[2]string{ep.Remote, ep.Local}]
		}
		return 0
	}
	type dgramKey struct {
		dgram uint64
		bytes int64
	}
	sends := map[uint64][]int{}
	dgrams := map[dgramKey][]int{} // datagram sends by contents and size, in event order
	for i, e := range events {
		if e.Dir != "send" || e.Bytes <= 0 || e.Endpoint == nil {
			continue
		}
		if e.Endpoint.Kind == "udp" {
			key := dgramKey{e.dgram, e.Bytes}
			dgrams[key] = append(dgrams[key], i)
			continue
		}
		if k := e.Endpoint.Kind; k == "tcp" || k == "unix" || k == "pipe" {
			sends[e.Endpoint.Inode] = append(sends[e.Endpoint.Inode], i)
		}
	}
	for _, list := range sends {
		sort.Slice(list, func(a, b int) bool { return events[list[a]].Offset < events[list[b]].Offset })
	}
	usedDgram := map[int]bool{}
	for _, e := range events {
		if e.Dir != "recv" || e.Bytes <= 0 || e.Endpoint == nil {
			continue
		}
		if e.Endpoint.Kind == "udp" {
			for _, s := range dgrams[dgramKey{e.dgram, e.Bytes}] {
				se := events[s]
				if usedDgram[s] || !sameAddr(se.Dest, se.Endpoint.Remote, e.Endpoint.Local) {
					continue
				}
				usedDgram[s] = true
				e.msgFrom = append(e.msgFrom, s)
				break
			}
			continue
		}
		src := from(e.Endpoint)
		if src == 0 {
			continue
		}
		list := sends[src]
		lo, hi := e.Offset, e.Offset+e.Bytes
		k := sort.Search(len(list), func(k int) bool {
			se := events[list[k]]
			return se.Offset+se.Bytes > lo
		})
		for ; k < len(list); k++ {
			se := events[list[k]]
			if se.Offset >= hi {
				break
			}
			e.msgFrom = append(e.msgFrom, list[k])
		}
	}
	for _, e := range events {
		if len(e.msgFrom) > 0 {
			e.Peer = events[e.msgFrom[0]].Addr
			e.hb = append(e.hb, e.msgFrom...)
		}
		e.HB = e.HB[:0]
		for k, h := range e.hb {
			if !slices.Contains(e.hb[:k], h) {
				e.HB = append(e.HB, events[h].Addr)
			}
		}
		if len(e.HB) == 0 {
			e.HB = nil
		}
	}
}

// sameAddr reports whether a datagram sent to dest (or on a socket connected to remote)
// reaches a socket bound to local (a wildcard bind matches any host on its port).
func sameAddr(dest, remote, local string) bool {
	to := dest
	if to == "" {
		to = remote
	}
	if to == local {
		return true
	}
	_, tp, ok1 := splitHostPort(to)
	lh, lp, ok2 := splitHostPort(local)
	return ok1 && ok2 && tp == lp && (lh == "0.0.0.0" || lh == "::")
}
