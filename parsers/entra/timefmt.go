package entra

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/forgehunt/forgehunt/parsers/record"
)

// usLayouts are the US forms of diagnostic records' "time" (1/9/2007
// 9:41:00 AM, with or without AM/PM or an offset) and of the Log Analytics
// portal's CSV export (2/25/2025, 9:19:25.391 AM). Go reads a fraction
// after the seconds without its being spelled.
var usLayouts = []string{
	"1/2/2006, 3:04:05 PM",
	"1/2/2006, 3:04:05 PM Z07:00",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04:05 PM Z07:00",
	"1/2/2006, 15:04:05",
	"1/2/2006 15:04:05",
	"1/2/2006 15:04:05 Z07:00",
}

// parseTime reads an Entra timestamp: RFC 3339 (record.ParseTime), the US
// forms, or Windows PowerShell's "/Date(ms)/". Times without a zone are
// taken in loc.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "/Date(") && strings.HasSuffix(s, ")/") {
		ms := s[len("/Date(") : len(s)-2]
		if i := strings.IndexAny(ms[min(1, len(ms)):], "+-"); i >= 0 {
			ms = ms[:i+1] // "/Date(ms+0100)/": the offset is only for display
		}
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil || n < 0 || n > 1e14 {
			return time.Time{}, errors.New("bad /Date()/ time")
		}
		return time.UnixMilli(n).UTC(), nil
	}
	if strings.IndexByte(s, '/') > 0 {
		for _, layout := range usLayouts {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, errors.New("unrecognised time " + strconv.Quote(truncate(s, 40)))
	}
	return record.ParseTime(s, loc)
}
