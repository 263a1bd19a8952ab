package raftkv

import (
	"encoding/binary"
	"fmt"
)

// The wire: one byte of kind, then the body.
const (
	wireRaft    = 'R' // a raftpb.Message
	wireRequest = 'Q' // a client's request: a command
	wireAnswer  = 'A' // a node's answer to a request
)

// Operation kinds.
const (
	opGet = 1
	opPut = 2
	opCAS = 3
)

// command is a client's operation as it travels and as it sits in the raft log. Client and
// Seq identify it: the state machine applies each (client, seq) once, so a client may retry
// it on another node after a timeout.
type command struct {
	Client uint32
	Seq    uint64
	Op     byte
	Key    uint64
	Value  uint64 // put: the value; cas: the new value
	Expect uint64 // cas: the value expected (0: the key is absent)
}

const commandBytes = 4 + 8 + 1 + 8 + 8 + 8

func (c command) appendTo(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, c.Client)
	b = binary.LittleEndian.AppendUint64(b, c.Seq)
	b = append(b, c.Op)
	b = binary.LittleEndian.AppendUint64(b, c.Key)
	b = binary.LittleEndian.AppendUint64(b, c.Value)
	return binary.LittleEndian.AppendUint64(b, c.Expect)
}

func decodeCommand(b []byte) (command, error) {
	if len(b) != commandBytes {
		return command{}, fmt.Errorf("command of %d bytes: want %d", len(b), commandBytes)
	}
	c := command{Client: binary.LittleEndian.Uint32(b), Seq: binary.LittleEndian.Uint64(b[4:]), Op: b[12],
		Key: binary.LittleEndian.Uint64(b[13:]), Value: binary.LittleEndian.Uint64(b[21:]),
		Expect: binary.LittleEndian.Uint64(b[29:])}
	if c.Op < opGet || c.Op > opCAS {
		return command{}, fmt.Errorf("command op %d: want 1..3", c.Op)
	}
	return c, nil
}

// Answer statuses.
const (
	answerOK        = 1
	answerNotLeader = 2
)

// answer is a node's reply to a request.
type answer struct {
	Seq    uint64
	Status byte
	Hint   uint32 // not leader: the raft ID of the leader it knows, 0 if none
	Value  uint64 // get: the value (0: absent)
	OK     bool   // cas: whether it swapped
}

const answerBytes = 8 + 1 + 4 + 8 + 1

func (a answer) encode() []byte {
	b := make([]byte, 0, 1+answerBytes)
	b = append(b, wireAnswer)
	b = binary.LittleEndian.AppendUint64(b, a.Seq)
	b = append(b, a.Status)
	b = binary.LittleEndian.AppendUint32(b, a.Hint)
	b = binary.LittleEndian.AppendUint64(b, a.Value)
	ok := byte(0)
	if a.OK {
		ok = 1
	}
	return append(b, ok)
}

func decodeAnswer(b []byte) (answer, bool) {
	if len(b) != answerBytes {
		return answer{}, false
	}
	return answer{Seq: binary.LittleEndian.Uint64(b), Status: b[8], Hint: binary.LittleEndian.Uint32(b[9:]),
		Value: binary.LittleEndian.Uint64(b[13:]), OK: b[21] == 1}, true
}
