# Installs the Tally collector as a Windows service (WinSW), run as Administrator from the folder
# that holds node.exe, tally-collector.mjs, tally-collector.xml and WinSW-x64.exe:
#   .\install-service.ps1 -Server https://tally.example.com -Enroll <token> -Site "Plant 3"
# It copies the files to C:\Program Files\Tally, makes %ProgramData%\Tally (state dir readable only
# by LocalService and Administrators), enrolls the site, installs and starts the service. Put the
# `run` config in %ProgramData%\Tally\collector.json first (paths: "C:\\Program Files\\…").
param(
  [Parameter(Mandatory)] [string] $Server,
  [Parameter(Mandatory)] [string] $Enroll,
  [Parameter(Mandatory)] [string] $Site
)
$ErrorActionPreference = "Stop"
$app = Join-Path $env:ProgramFiles "Tally"
$data = Join-Path $env:ProgramData "Tally"
$state = Join-Path $data "state"
if (-not (Test-Path (Join-Path $data "collector.json"))) { throw "write $data\collector.json (the run config) first" }

New-Item -ItemType Directory -Force -Path $app, $state | Out-Null
Copy-Item node.exe, tally-collector.mjs, tally-collector.xml -Destination $app -Force
Copy-Item WinSW-x64.exe -Destination (Join-Path $app "tally-collector.exe") -Force

# The state dir holds the site's private key: LocalService (the service) and Administrators only.
icacls $state /inheritance:r /grant:r "NT AUTHORITY\LocalService:(OI)(CI)M" "BUILTIN\Administrators:(OI)(CI)F" | Out-Null

$env:TALLY_STATE = $state
& (Join-Path $app "node.exe") (Join-Path $app "tally-collector.mjs") init --server $Server --enroll $Enroll --site $Site
if ($LASTEXITCODE -ne 0) { throw "enrollment failed (exit $LASTEXITCODE)" }
icacls $state /grant:r "NT AUTHORITY\LocalService:(OI)(CI)M" /T | Out-Null

& (Join-Path $app "tally-collector.exe") install
& (Join-Path $app "tally-collector.exe") start
Write-Host "installed; status: `"$app\node.exe`" `"$app\tally-collector.mjs`" status --state `"$state`""
