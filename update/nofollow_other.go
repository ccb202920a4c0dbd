//go:build !unix

package update

// oNoFollow is 0 where there is no O_NOFOLLOW; WalkDir's file type check still refuses links.
const oNoFollow = 0
