package envoytext

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// timeLayout is a START_TIME format (strftime, as Envoy renders it with
// absl::FormatTime plus its own %s and %f), compiled for reading.
type timeLayout struct {
	items []timeItem
	// text is what the rendered time may hold beyond token characters.
	spaces, quotes bool
}

// timeItem is one specifier or one run of literal text.
type timeItem struct {
	spec  byte // 0 for literal text
	lit   string
	width int // digits of %Nf and %EnS; -1 for %E*S's optional fraction
}

// timeSpecs says what each supported specifier reads, for the error message.
const timeSpecs = "%Y %y %m %d %e %j %H %M %S %T %F %D %R %b %h %B %a %A %z %Ez %Z %s %f %1f-%9f %E3S %E6S %E9S %E*S %%"

// compileTime compiles a START_TIME argument.
func compileTime(f string) (*timeLayout, error) {
	tl := &timeLayout{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			tl.items = append(tl.items, timeItem{lit: lit.String()})
			lit.Reset()
		}
	}
	add := func(specs ...byte) {
		flush()
		for _, c := range specs {
			tl.items = append(tl.items, timeItem{spec: c})
		}
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			lit.WriteByte(c)
			tl.spaces = tl.spaces || c == ' '
			tl.quotes = tl.quotes || c == '"'
			continue
		}
		if i+1 >= len(f) {
			return nil, errors.New("START_TIME format ends with a lone %")
		}
		i++
		switch c = f[i]; c {
		case '%':
			lit.WriteByte('%')
		case 'Y', 'y', 'm', 'd', 'j', 'H', 'M', 'S', 'b', 'B', 'a', 'z', 'Z', 's':
			add(c)
		case 'e':
			add('e')
			tl.spaces = true
		case 'h':
			add('b')
		case 'A':
			add('a')
		case 'T':
			add('H')
			lit.WriteByte(':')
			add('M')
			lit.WriteByte(':')
			add('S')
		case 'F':
			add('Y')
			lit.WriteByte('-')
			add('m')
			lit.WriteByte('-')
			add('d')
		case 'D':
			add('m')
			lit.WriteByte('/')
			add('d')
			lit.WriteByte('/')
			add('y')
		case 'R':
			add('H')
			lit.WriteByte(':')
			add('M')
		case 'f':
			flush()
			tl.items = append(tl.items, timeItem{spec: 'f', width: 9})
		case '1', '2', '3', '4', '5', '6', '7', '8', '9':
			if i+1 >= len(f) || f[i+1] != 'f' {
				return nil, fmt.Errorf("unsupported START_TIME specifier %%%c (supported: %s)", c, timeSpecs)
			}
			flush()
			tl.items = append(tl.items, timeItem{spec: 'f', width: int(c - '0')})
			i++
		case 'E':
			switch rest := f[i+1:]; {
			case strings.HasPrefix(rest, "z"):
				add(':')
				i++
			case strings.HasPrefix(rest, "*S"):
				flush()
				tl.items = append(tl.items, timeItem{spec: 'S', width: -1})
				i += 2
			case len(rest) >= 2 && rest[0] >= '1' && rest[0] <= '9' && rest[1] == 'S':
				flush()
				tl.items = append(tl.items, timeItem{spec: 'S', width: int(rest[0] - '0')})
				i += 2
			default:
				return nil, fmt.Errorf("unsupported START_TIME specifier %%E%s (supported: %s)", firstByte(rest), timeSpecs)
			}
		default:
			return nil, fmt.Errorf("unsupported START_TIME specifier %%%c (supported: %s)", c, timeSpecs)
		}
	}
	flush()
	return tl, nil
}

func firstByte(s string) string {
	if s == "" {
		return ""
	}
	return s[:1]
}

// class is the value class of the times the layout renders.
func (tl *timeLayout) class() class {
	switch {
	case tl.quotes:
		return classText
	case tl.spaces:
		return classNoQuote
	}
	return classToken
}

var monthNames = [...]string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}

var dayNames = [...]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// parse reads s, which must be all of a rendered time. Times without a zone
// (%z, %Ez, %Z of UTC or GMT) or epoch (%s) are read in loc.
func (tl *timeLayout) parse(s string, loc *time.Location) (time.Time, error) {
	year, month, day, hour, minute, sec, nsec := 1970, 1, 1, 0, 0, 0, 0
	var epoch int64
	hasEpoch, zoned, offset, yday := false, false, 0, 0
	p := 0
	num := func(width int, what string) (int, error) {
		if p+width > len(s) {
			return 0, fmt.Errorf("%s cut short", what)
		}
		n := 0
		for k := p; k < p+width; k++ {
			if s[k] < '0' || s[k] > '9' {
				return 0, fmt.Errorf("%s is not %d digits", what, width)
			}
			n = n*10 + int(s[k]-'0')
		}
		p += width
		return n, nil
	}
	frac := func(width int) error {
		n, err := num(width, "fraction")
		if err != nil {
			return err
		}
		for k := width; k < 9; k++ {
			n *= 10
		}
		nsec = n
		return nil
	}
	for _, it := range tl.items {
		var err error
		switch it.spec {
		case 0:
			if !strings.HasPrefix(s[p:], it.lit) {
				return time.Time{}, fmt.Errorf("want %q at byte %d", it.lit, p)
			}
			p += len(it.lit)
		case 'Y':
			year, err = num(4, "year")
		case 'y':
			if year, err = num(2, "year"); year < 69 {
				year += 2000
			} else {
				year += 1900
			}
		case 'm':
			month, err = num(2, "month")
		case 'd':
			day, err = num(2, "day")
		case 'e':
			if p < len(s) && s[p] == ' ' {
				p++
				day, err = num(1, "day")
			} else {
				day, err = num(2, "day")
			}
		case 'j':
			if yday, err = num(3, "day of year"); err == nil && (yday < 1 || yday > 366) {
				err = errors.New("day of year out of range")
			}
		case 'H':
			hour, err = num(2, "hour")
		case 'M':
			minute, err = num(2, "minute")
		case 'S':
			if sec, err = num(2, "second"); err != nil || it.width == 0 {
				break
			}
			if it.width < 0 { // %E*S: the fraction, if any
				if p < len(s) && s[p] == '.' {
					p++
					start := p
					for p < len(s) && p-start < 9 && s[p] >= '0' && s[p] <= '9' {
						p++
					}
					w := p - start
					p = start
					if w == 0 {
						return time.Time{}, errors.New("empty fraction")
					}
					err = frac(w)
				}
				break
			}
			if p >= len(s) || s[p] != '.' {
				return time.Time{}, fmt.Errorf("want . at byte %d", p)
			}
			p++
			err = frac(it.width)
		case 'f':
			err = frac(it.width)
		case 'b', 'B':
			month, err = name(s, &p, monthNames[:], "month")
		case 'a':
			_, err = name(s, &p, dayNames[:], "weekday")
		case 'z', ':':
			offset, err = zone(s, &p, it.spec == ':')
			zoned = true
		case 'Z':
			start := p
			for p < len(s) && (s[p] >= 'A' && s[p] <= 'Z' || s[p] >= 'a' && s[p] <= 'z') {
				p++
			}
			if abbr := s[start:p]; abbr == "UTC" || abbr == "GMT" {
				zoned, offset = true, 0
			} else if abbr == "" {
				return time.Time{}, fmt.Errorf("want a zone name at byte %d", start)
			}
		case 's':
			start := p
			for p < len(s) && p-start < 12 && s[p] >= '0' && s[p] <= '9' {
				p++
			}
			if p == start {
				return time.Time{}, fmt.Errorf("want epoch seconds at byte %d", start)
			}
			epoch, hasEpoch = 0, true
			for _, c := range s[start:p] {
				epoch = epoch*10 + int64(c-'0')
			}
		}
		if err != nil {
			return time.Time{}, err
		}
	}
	if p != len(s) {
		return time.Time{}, fmt.Errorf("unexpected text at byte %d", p)
	}
	if hasEpoch {
		return time.Unix(epoch, int64(nsec)).UTC(), nil
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, errors.New("date or time out of range")
	}
	if zoned {
		loc = time.FixedZone("", offset)
	}
	if yday > 0 {
		month, day = 1, yday
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if yday == 0 && time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Day() != day {
		return time.Time{}, errors.New("no such date")
	}
	return t.UTC(), nil
}

// name reads a month or weekday name, full or abbreviated to three letters,
// in any case; it returns its 1-based number.
func name(s string, p *int, names []string, what string) (int, error) {
	rest := strings.ToLower(s[*p:])
	for i, n := range names {
		if strings.HasPrefix(rest, n) {
			*p += len(n)
			return i + 1, nil
		}
	}
	for i, n := range names {
		if strings.HasPrefix(rest, n[:3]) {
			*p += 3
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("want a %s name at byte %d", what, *p)
}

// zone reads "+hhmm" (or "+hh:mm" with colon) and returns the offset in
// seconds.
func zone(s string, p *int, colon bool) (int, error) {
	width := 5
	if colon {
		width = 6
	}
	if *p+width > len(s) || s[*p] != '+' && s[*p] != '-' || colon && s[*p+3] != ':' {
		return 0, fmt.Errorf("want a zone offset at byte %d", *p)
	}
	digits := s[*p+1:*p+3] + s[*p+width-2:*p+width]
	n := 0
	for i := 0; i < 4; i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, fmt.Errorf("want a zone offset at byte %d", *p)
		}
		n = n*10 + int(digits[i]-'0')
	}
	h, m := n/100, n%100
	if h > 23 || m > 59 {
		return 0, errors.New("zone offset out of range")
	}
	off := (h*60 + m) * 60
	if s[*p] == '-' {
		off = -off
	}
	*p += width
	return off, nil
}
