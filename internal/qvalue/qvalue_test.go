package qvalue

import "testing"

func TestParse(t *testing.T) {
	for s, want := range map[string]float64{"0": 0, "1": 1, "0.5": 0.5, "0.125": 0.125, "1.0": 1, "1.000": 1, "0.": 0} {
		if q, ok := Parse(s); !ok || q != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, q, ok, want)
		}
	}
	for _, s := range []string{"", "1.5", "1.001", "2", "-0", ".5", "0.1234", "NaN", "0x1p-1", "1e0", "0.x", " 1", "inf"} {
		if q, ok := Parse(s); ok {
			t.Errorf("Parse(%q) = %v; want no weight", s, q)
		}
	}
}
