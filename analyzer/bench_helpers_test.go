package analyzer

import "os"

var osMkdirTemp = os.MkdirTemp
