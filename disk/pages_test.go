package disk

import (
	"slices"
	"testing"
)

// The page table's radix: pages in different dirs, a clone that shares them until either
// side changes one, and eachIn in index order across dirs.
func TestTableRadix(t *testing.T) {
	t.Parallel()
	far := int64(3)<<(dirShift+chunkShift) + 5 // in the fourth dir
	idx := []int64{0, 1, chunkPages + 2, far, far + chunkPages*dirChunks/2}
	a := newTable()
	pages := map[int64]*page{}
	for _, i := range idx {
		pages[i] = new(page)
		pages[i][0] = byte(i)
		a.set(i, pages[i])
	}
	b := a.clone()
	b.set(far, nil)
	b.set(7, new(page))
	for _, i := range idx {
		if a.get(i) != pages[i] {
			t.Fatalf("page %d changed in the original after the clone changed", i)
		}
	}
	if b.get(far) != nil || a.get(7) != nil || b.get(1) != pages[1] {
		t.Fatal("the clone's changes leak, or it lost a shared page")
	}
	var got []int64
	a.eachIn(0, 1<<40, func(i int64, _ *page) { got = append(got, i) })
	if !slices.Equal(got, idx) {
		t.Fatalf("eachIn over the whole table: %v, want %v", got, idx)
	}
	got = got[:0]
	a.eachIn(1, far, func(i int64, _ *page) { got = append(got, i) })
	if !slices.Equal(got, []int64{1, chunkPages + 2}) {
		t.Fatalf("eachIn [1, far): %v", got)
	}
}

// pageSet: a slice while small, a map past smallPages, back to a slice once a filter leaves
// few; membership and filtering hold across the changes.
func TestPageSet(t *testing.T) {
	t.Parallel()
	var s pageSet
	for i := range int64(3 * smallPages) {
		s.add(i * 3)
		s.add(i * 3) // twice: still one
		if s.len() != int(i)+1 {
			t.Fatalf("after adding %d indexes the set holds %d", i+1, s.len())
		}
		if (s.big != nil) != (s.len() > smallPages) {
			t.Fatalf("at %d entries the set is a map: %v", s.len(), s.big != nil)
		}
	}
	if !s.has(9) || s.has(10) {
		t.Fatal("membership wrong in map form")
	}
	s.filter(func(i int64) bool { return i < 15 }) // keeps 0, 3, 6, 9, 12
	if s.big != nil || !slices.Equal(s.sorted(), []int64{0, 3, 6, 9, 12}) {
		t.Fatalf("after the filter: map %v, %v", s.big != nil, s.sorted())
	}
	s.filter(func(i int64) bool { return i != 6 })
	if s.has(6) || !s.has(12) || s.len() != 4 {
		t.Fatalf("slice form filter: %v", s.sorted())
	}
}
