# SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
# bash completion for pyprof-bpf: subcommands, options, --format and --mode
# names, pids of Python processes for -p, files for -o and the
# subcommands' inputs, a command after "--".
#
# `make install` puts it in $(PREFIX)/share/bash-completion/completions/,
# where bash-completion finds it; without that package, source it from
# ~/.bashrc.  It needs nothing but bash.  The options are those --help
# lists (tests/test_install.py checks that none is missing).

_pyprof_bpf_pids()
{
	local cur=$1 prefix="" maps pids="" d pid argv0
	# -p takes PID,PID,...: complete the last one.
	if [[ $cur == *,* ]]; then
		prefix=${cur%,*},
		cur=${cur##*,}
	fi
	# Python processes: those whose memory maps name a python (an
	# interpreter or a libpython; only root reads every process's maps)
	# or whose program, argv[0], is one.  None found: every process.
	maps=" $(grep -ls '[p]ython' /proc/[0-9]*/maps 2>/dev/null |
		sed -n 's|^/proc/\([0-9]*\)/maps$|\1|p' | tr '\n' ' ') "
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		argv0=""
		{ IFS= read -r -d '' argv0 <"$d/cmdline"; } 2>/dev/null
		# pyprof-bpf maps the files of the Pythons it profiles.
		[[ ${argv0##*/} == pyprof-bpf ]] && continue
		if [[ $maps == *" $pid "* || ${argv0##*/} == python* ]]; then
			pids+=" $pid"
		fi
	done
	if [[ -z $pids ]]; then
		pids=$(cd /proc && printf '%s\n' [0-9]*)
	fi
	COMPREPLY=($(compgen -P "$prefix" -W "$pids" -- "$cur"))
}

_pyprof_bpf()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd="" opts formats i
	COMPREPLY=()

	# --opt=value: bash splits it into "--opt" "=" "value"; readline
	# replaces only what follows the '='.
	if [[ $cur == = ]]; then
		cur=""
	elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		view | convert | diff)
			((i == 1)) && cmd=${COMP_WORDS[i]}
			;;
		--)
			if [[ -z $cmd ]]; then
				# -- COMMAND [ARGS...]: a command, then its files.
				if ((i == COMP_CWORD - 1)); then
					COMPREPLY=($(compgen -c -- "$cur"))
				else
					compopt -o default 2>/dev/null
				fi
				return 0
			fi
			;;
		esac
	done

	case $cmd in
	"")
		opts="-p --pid -a --all --children --merge-processes
		      -F --frequency -d --duration -o --output -f --folded
		      --format --stream --max-depth --interval --tid
		      --no-threads --mode --idle --gil --gil-only --native
		      --kernel --async -v --verbose -h --help -V --version --"
		formats="folded svg speedscope pprof callgrind trace html
			 heatmap pstats"
		;;
	view)
		opts="-l --lines -t --tree -n --rows -h --help"
		;;
	convert)
		opts="-o --output --format -F --frequency --title -h --help"
		formats="folded svg speedscope pprof callgrind html heatmap
			 pstats"
		;;
	diff)
		opts="--fail-above --min-samples --focus --top -l --lines
		      -o --output -h --help"
		;;
	esac

	# An option's value.
	case $prev in
	-p | --pid)
		[[ -z $cmd ]] && _pyprof_bpf_pids "$cur" && return 0
		;;
	-o | --output)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	--format)
		COMPREPLY=($(compgen -W "$formats" -- "$cur"))
		return 0
		;;
	--mode)
		[[ -z $cmd ]] && COMPREPLY=($(compgen -W "cpu wall" -- "$cur"))
		return 0
		;;
	-F | --frequency)
		[[ $cmd != diff ]] &&
			COMPREPLY=($(compgen -W "99 999 4999" -- "$cur"))
		return 0
		;;
	--fail-above)
		COMPREPLY=($(compgen -W "10% 5% 20% off" -- "$cur"))
		return 0
		;;
	-d | --duration | --interval | --max-depth | -n | --rows | --title | \
		--min-samples | --focus | --top)
		return 0
		;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [[ -z $cmd ]]; then
		((COMP_CWORD == 1)) &&
			COMPREPLY=($(compgen -W "view convert diff" -- "$cur"))
	else
		# view, convert, diff read folded files.
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
	return 0
}

complete -F _pyprof_bpf pyprof-bpf ./pyprof-bpf
