package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that is also written in days: "7d", "30d",
// as well as anything time.ParseDuration takes ("168h", "90m"), or "0".
type Duration time.Duration

const day = 24 * time.Hour

// UnmarshalText parses "7d", "1.5d" or a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, ok := strings.CutSuffix(s, "d"); ok {
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return fmt.Errorf("duration %q: want e.g. 7d, 168h or 90m", s)
		}
		*d = Duration(f * float64(day))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want e.g. 7d, 168h or 90m", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes whole days as "7d", other durations as Go does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String is "7d" for whole days, "2h" for whole hours, "0" for zero,
// else time.Duration's form.
func (d Duration) String() string {
	switch {
	case d == 0:
		return "0"
	case time.Duration(d)%day == 0:
		return strconv.FormatInt(int64(time.Duration(d)/day), 10) + "d"
	case time.Duration(d)%time.Hour == 0:
		return strconv.FormatInt(int64(time.Duration(d)/time.Hour), 10) + "h"
	}
	return time.Duration(d).String()
}
